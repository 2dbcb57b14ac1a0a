"""The Keras-native tools: copy them into your own training.

The learning-rate range test (`range_test`), the cyclical and
one-cycle schedules (`schedules`), the hypergradient optimizers
SGD-HD and Adam-HD (`hypergradient`), muP for `Dense` networks
(`mup`) and the learning-rate monitor (`callbacks`). They depend on Keras and NumPy (and
`lr_lessons.checks`), never on the lab that reproduces the lessons.
"""
