"""The lab that reproduces the lessons: data, models, studies, the runner and its engines.

Data flows one way: `data` and `models` feed
the `studies` that `run_study` trains
on an engine (`engines`), saving `results`
through one cache (`cache`). The views read what it saved.
"""
