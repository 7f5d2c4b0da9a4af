/* The printable reports' "打印 · Print" link: opens the browser's print dialog (the report's print CSS hides the
 * links). Without JavaScript the link opens the PDF, which prints as well. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  });
}());
