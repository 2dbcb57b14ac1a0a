// Typeset the formulas that pymdownx.arithmatex (generic mode) wrapped in .arithmatex
// elements, on the first load and after every instant-navigation page change; then the
// formulas in headings as the table of contents repeats them (there as plain "\(...\)").
document$.subscribe(({ body }) => {
  for (const element of body.querySelectorAll(".arithmatex")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
      ],
      throwOnError: true,
    });
  }
  for (const link of body.querySelectorAll(".md-nav--secondary .md-nav__link")) {
    renderMathInElement(link, {
      delimiters: [{ left: "\\(", right: "\\)", display: false }],
      throwOnError: true,
    });
  }
});
