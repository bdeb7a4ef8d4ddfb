"""Adversarial robustness: accuracy (or Dice) under FGSM and PGD at several budgets eps."""
