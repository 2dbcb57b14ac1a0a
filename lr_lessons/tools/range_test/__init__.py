"""The learning-rate range test for Keras 3: `LRFinder` (a callback) and `range_test`.

Train for a few hundred updates while the learning rate grows from `start_lr` to
`end_lr` (exponentially or linearly), record every update's rate and loss, and read
the curve: the loss first barely moves, then falls, then explodes. Smith (2015, 2017)
introduced it; fastai's `lr_find` made it popular.

What this version does that the other Keras finders do not:

- **The batch's own loss**, recovered exactly from Keras' loss tracker (Keras 3 hands
  callbacks a running mean since the epoch began).
- **Every Keras 3 backend** (TensorFlow, JAX, PyTorch), mixed precision (the rate is
  the inner optimizer's), gradient accumulation (one point per real update), any data
  `fit` takes (arrays, dicts of arrays, `tf.data`, `PyDataset`, generators).
- **Restore**, bit for bit: weights, dropout seed states, every optimizer variable and
  the learning rate (a float or a `LearningRateSchedule`), also after an interrupt;
  the optimizer's variable list is left as it was, so `model.save` is unaffected.
- Bias-corrected smoothing, the original's loss delta, stop reasons
  (`STOP_REASONS`), four suggestion rules that never read past the loss minimum
  and say when the curve does not support them (`lr_lessons.tools.range_test.rules`),
  repeats over seeds with each rule's median and spread, and a validation mode in which
  the validation loss drives the whole test.

Modules: `ramp` (the rates, stop reasons, checks), `rules` (pure NumPy reading of a
curve), `result` (results and their file format), `finder` (the callback), `run`
(the one-call functions), `plot` (the loss curve with the suggestions, matplotlib
only; `result.plot()` draws with it). The package imports nothing of the lab or the
views: copy it with `lr_lessons/checks.py` and `lr_lessons/files.py`.
"""

from lr_lessons.tools.range_test.finder import LRFinder, RampSchedule, chance_level_loss
from lr_lessons.tools.range_test.ramp import (
    MAX_STEPS,
    MODES,
    STOP_CHANCE,
    STOP_DATA,
    STOP_DIVERGED,
    STOP_END,
    STOP_INTERRUPTED,
    STOP_NONFINITE,
    STOP_REASONS,
    ramp,
)
from lr_lessons.tools.range_test.result import (
    RangeTestFileError,
    RangeTestRepeats,
    RangeTestResult,
    RuleSummary,
)
from lr_lessons.tools.range_test.rules import SOURCES, SUGGESTIONS, Suggestion
from lr_lessons.tools.range_test.run import range_test, range_test_repeats

__all__ = [
    "LRFinder",
    "MAX_STEPS",
    "MODES",
    "RampSchedule",
    "RangeTestFileError",
    "RangeTestRepeats",
    "RangeTestResult",
    "RuleSummary",
    "SOURCES",
    "STOP_CHANCE",
    "STOP_DATA",
    "STOP_DIVERGED",
    "STOP_END",
    "STOP_INTERRUPTED",
    "STOP_NONFINITE",
    "STOP_REASONS",
    "SUGGESTIONS",
    "Suggestion",
    "chance_level_loss",
    "ramp",
    "range_test",
    "range_test_repeats",
]
