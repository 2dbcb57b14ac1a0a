"""The Keras-native tools: copy them into your own training.

The learning-rate range test (:mod:`~lr_lessons.tools.range_test`), the cyclical and
one-cycle schedules (:mod:`~lr_lessons.tools.schedules`), the hypergradient optimizers
SGD-HD and Adam-HD (:mod:`~lr_lessons.tools.hypergradient`) and the learning-rate
monitor (:mod:`~lr_lessons.tools.callbacks`). They depend on Keras and NumPy (and
:mod:`lr_lessons.checks`), never on the lab that reproduces the lessons.
"""
