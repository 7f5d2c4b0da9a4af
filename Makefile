# Shortcuts for the README's two commands.
.PHONY: run test bench
run:
	scripts/run
test:
	scripts/test
bench:
	.venv/bin/python scripts/bench_page.py
