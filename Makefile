# Shortcuts for the README's two commands.
.PHONY: run test bench bench-ogc
run:
	scripts/run
test:
	scripts/test
bench:
	.venv/bin/python scripts/bench_page.py
	.venv/bin/python scripts/bench_import.py
bench-ogc:
	scripts/bench_ogc.sh
