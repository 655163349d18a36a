"""The eight SLDBench tasks: data config, columns, groups and parameter limits.

One `TaskSpec` per task, keyed by its short Inspect name (``sldbench/moe`` is
``TASKS["moe"]``). Column orders follow the official dataset schema: the
feature matrix handed to a law has its columns in ``features`` order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    """Static description of one SLDBench task.

    Attributes
    ----------
    name : str
        Short task name (``"moe"``), also the Inspect task name ``sldbench/<name>``.
    config : str
        Dataset config name on the Hub and folder name in a local data dir.
    features, targets : tuple of str
        Input and output columns, in the order the law receives and returns them.
    param_limit : int or None
        Maximum number of fitted parameters per group (None: no limit).
    description : str
        What the features and targets mean, in words, for prompts.
    """

    name: str
    config: str
    features: tuple[str, ...]
    targets: tuple[str, ...]
    param_limit: int | None
    description: str

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns of a split file: ``group``, then features, then targets."""
        return ("group", *self.features, *self.targets)


_SPECS = [
    TaskSpec(
        name="parallel",
        config="parallel_scaling_law",
        features=("num_params", "parallel_size"),
        targets=("loss",),
        param_limit=4,
        description=(
            "Parallel scaling (ParScale): language models of several sizes are trained "
            "with P parallel streams (the input is transformed P ways and the outputs "
            "aggregated). num_params is the model's parameter count, parallel_size is P "
            "(1, 2, 4, ...), loss is the final language-modelling loss. Groups are the "
            "training corpora (pile, stack)."
        ),
    ),
    TaskSpec(
        name="vocab",
        config="vocab_scaling_law",
        features=("non_vocab_parameters", "vocab_size", "num_characters"),
        targets=("unigram_normalized_loss",),
        param_limit=7,
        description=(
            "Vocabulary scaling: models with different non-vocabulary parameter counts "
            "(non_vocab_parameters) and vocabulary sizes (vocab_size) are trained on "
            "num_characters characters of text. The target unigram_normalized_loss is "
            "the loss normalised by a unigram model's loss (lower is better; it is "
            "negative). The single group is all_data."
        ),
    ),
    TaskSpec(
        name="sft",
        config="sft_scaling_law",
        features=("sft_data_size",),
        targets=("sft_loss",),
        param_limit=4,
        description=(
            "Supervised fine-tuning scaling: pretrained models are fine-tuned on "
            "sft_data_size examples of a dataset and sft_loss is the fine-tuned loss. "
            "Each group is one (model, dataset) pair, written like "
            "\"('facebook/bart-base', 'flan')\"."
        ),
    ),
    TaskSpec(
        name="domain_mix",
        config="domain_mixture_scaling_law",
        features=tuple(f"proportion_domain_{i}" for i in range(1, 6)),
        targets=tuple(f"loss_domain_{i}" for i in range(1, 6)),
        param_limit=35,
        description=(
            "Domain mixture: models are pretrained on mixtures of five data domains; "
            "proportion_domain_1..5 are the mixture weights (they sum to 1) and "
            "loss_domain_1..5 are the validation losses on each domain. The law predicts "
            "all five losses. Groups are model sizes (70M, 160M, 305M, 410M)."
        ),
    ),
    TaskSpec(
        name="moe",
        config="moe_scaling_law",
        features=("num_experts", "dense_parameter_count"),
        targets=("loss_validation",),
        param_limit=6,
        description=(
            "Mixture-of-experts scaling: routed language models with num_experts experts "
            "(1 means a dense model) built on a dense model of dense_parameter_count "
            "parameters; loss_validation is the validation loss at the end of training. "
            "The single group is all_data."
        ),
    ),
    TaskSpec(
        name="d_constrain",
        config="data_constrained_scaling_law",
        features=("unique_tokens", "params", "tokens"),
        targets=("loss",),
        param_limit=7,
        description=(
            "Data-constrained scaling: models with params parameters are trained for "
            "tokens total tokens drawn from a corpus of unique_tokens unique tokens, so "
            "data is repeated for tokens/unique_tokens epochs; loss is the final loss. "
            "The single group is all_data."
        ),
    ),
    TaskSpec(
        name="lr_bsz",
        config="lr_bsz_scaling_law",
        features=("lr", "bsz", "data_size", "non_embedding_param_size"),
        targets=("lm_loss",),
        param_limit=None,
        description=(
            "Learning-rate and batch-size scaling: dense models with "
            "non_embedding_param_size parameters are trained on data_size tokens with "
            "learning rate lr and batch size bsz; lm_loss is the final language-modelling "
            "loss. The law must capture the optimum in lr and bsz and how it moves with "
            "scale. The single group is all_data."
        ),
    ),
    TaskSpec(
        name="u_shape",
        config="easy_question_scaling_law",
        features=("log_flops",),
        targets=("brier_score",),
        param_limit=6,
        description=(
            "U-shaped scaling on easy questions: log_flops is log10 of a model's training "
            "compute (in units of 1e21 FLOPs) and brier_score is the negated Brier score "
            "on the easy questions of a benchmark (higher is better). Performance can "
            "first get worse and then better with scale. Groups are the benchmarks "
            "(mmlu, arc, hellaswag, ...)."
        ),
    ),
]

TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in _SPECS}
"""Task specs by short name, in the paper's table order."""

BY_CONFIG: dict[str, TaskSpec] = {spec.config: spec for spec in _SPECS}
"""Task specs by dataset config name."""


def get_spec(name: str) -> TaskSpec:
    """Look a task up by short name (``moe``) or config name (``moe_scaling_law``).

    Raises
    ------
    ValueError
        If ``name`` is neither, with the list of valid names.
    """
    spec = TASKS.get(name) or BY_CONFIG.get(name)
    if spec is None:
        raise ValueError(
            f"unknown SLDBench task {name!r}; expected one of {', '.join(TASKS)} "
            f"(or a config name: {', '.join(BY_CONFIG)})"
        )
    return spec
