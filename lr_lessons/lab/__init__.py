"""The lab that reproduces the lessons: data, models, studies, the runner and its engines.

Data flows one way: `data` and `models` feed
the `studies` that `run_study` trains
on an engine (`engines`), saving `results`
through one cache (`cache`). The views read what it saved.

Importing the lab points TensorFlow's persistent XLA cache at its keyed folder
(`engines.stacked.compile_cache.enable`): TensorFlow reads its XLA flags once, at the
first Keras or TensorFlow operation of a process, so the flag must be set before a
chapter's first `keras` call, not when the stacked engine is first used.
"""

from lr_lessons.lab.engines.stacked import compile_cache as _compile_cache

_compile_cache.enable()
