"""The lab that reproduces the lessons: data, models, studies, the runner and its engines.

Data flows one way: :mod:`~lr_lessons.lab.data` and :mod:`~lr_lessons.lab.models` feed
the :mod:`~lr_lessons.lab.studies` that :func:`~lr_lessons.lab.runner.run_study` trains
on an engine (:mod:`~lr_lessons.lab.engines`), saving :mod:`~lr_lessons.lab.results`
through one cache (:mod:`~lr_lessons.lab.cache`). The views read what it saved.
"""
