// Typeset the formulas that pymdownx.arithmatex (generic mode) wrapped in .arithmatex
// elements, on the first load and after every instant-navigation page change.
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
});
