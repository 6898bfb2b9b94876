"""tfexp's Hydra sweeper on a current Optuna (>= 4): ``hydra/sweeper=optuna``.

Hydra's own Optuna sweeper pins Optuna 2 and keeps its study in memory. This one keeps the
study in a storage (an sqlite file beside the MLflow store by default), so rerunning the
same command continues the study; it prunes trials from the values each job reports per
epoch (:mod:`tfexp.pruning`) and lets parallel launchers share the study. Hydra imports
every module here when it scans for plugins: Optuna is imported only when a sweep starts.
"""
