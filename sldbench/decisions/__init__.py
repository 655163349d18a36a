"""From a law to a decision: what researchers fit scaling laws for.

- ``optimize``: where a law puts the optimum of some features (learning rate, batch size) at
  values of the others (a larger model on more tokens), judged against the task's runs there
  (``sldbench optimize``).
- ``select``: which model to fine-tune, from a law fitted per (model, dataset) on a small share
  of the data, scored by RelAcc and PearCorr as Lin et al. (ICML 2024) define them
  (``sldbench select``).
- ``predict``: a law's prediction at new points with an interval from a residual bootstrap
  that keeps the runs' design (``sldbench predict``).
- ``paper``: the paper's two applications on lr_bsz and sft as one line each, for the
  leaderboard's law dialog.
- ``inputs``: the law (a file, a logged law, the expert law) and the options, checked.
"""
