"""The Keras-native tools: copy them into your own training.

The learning-rate range test (`range_test`), the cyclical and
one-cycle schedules (`schedules`), the hypergradient optimizers
SGD-HD and Adam-HD (`hypergradient`), muP for `Dense` networks
(`mup`) and the learning-rate monitor (`callbacks`). They depend on Keras and NumPy (and
`lr_lessons.checks` and `lr_lessons.files`; a range test's `plot()` on
matplotlib), never on the lab that reproduces the lessons or the views that draw
its figures, not even lazily: tests/test_tools_standalone.py checks it.
"""
