"""Annotation quality statistics: agreement, annotator reliability, consensus, curation.

Pure numpy/scipy, no Django: the app builds an `Answers` table (one row per answer:
item, annotator, canonical value in -3..3, optional bias/gold/timing columns) and calls
`agreement_report` or `curate`. Everything is vectorised over answers, so a million
answers take seconds (see bench/agreement_bench.py).

Which library is used where, and why we wrote our own elsewhere:

- numpy throughout; scipy for sparse matrices (coincidence matrix, Dawid-Skene EM).
  Nothing else statistical runs in the web process: statsmodels, scikit-learn, the
  `krippendorff` package, crowd-kit and scipy.stats are the *test* references.
- Cohen's kappa (`kappa.py`): own, because the report needs kappa for every annotator
  pair (~5,000 pairs at 100 annotators) and one bincount over (pair, cell) builds all
  their tables at once, where sklearn's `cohen_kappa_score` would need a pass over the
  data per pair. Matches sklearn to 1e-9, and statsmodels' `cohens_kappa` including the
  asymptotic standard error (which sklearn lacks).
- Fleiss' kappa (`agreement.py`): own, to allow items with different numbers of raters
  (statsmodels' `fleiss_kappa` assumes a constant count) and to evaluate it on a whole
  bootstrap weight matrix in one call; equals statsmodels when the count is constant.
- Krippendorff's alpha (`alpha.py`): own. The `krippendorff` package is GPL-3.0, which
  an Apache-2.0 web app must not import, and it builds a units x coders x values array;
  ours is linear in the number of answers, handles missing data, and equals the package
  to 1e-9 on random data with missing values.
- Dawid-Skene and one-coin DS (`dawid_skene.py`): own. crowd-kit has both but drags
  transformers and nltk into the web install and runs on pandas joins; our EM takes the
  same steps (checked step for step against crowd-kit) as sparse matrix products.
- Kendall's tau between annotators (`rankings.py`): own vectorised form of
  `scipy.stats.kendalltau` (tau-b, ties included, tested), all annotator pairs at once;
  Kendall's W (tie-corrected) is checked against scipy's Friedman statistic and a
  direct computation.
- Percent agreement (MT-Bench), leave-one-out agreement (AlpacaEval), bias and speed
  figures, Bradley-Terry (MM), the item bootstrap and curation have no library with
  these definitions.
"""

from .agreement import (
    LeaveOneOut,
    PercentAgreement,
    fleiss_kappa,
    fleiss_kappa_z,
    item_agreement,
    leave_one_out_agreement,
    one_vs_one_agreement,
    percent_agreement,
)
from .alpha import alpha_from_reliability_data, coincidence_matrix, krippendorff_alpha, krippendorff_alphas
from .annotators import annotator_stats, reading_floor_seconds
from .answers import Answers
from .consensus import consensus, majority_direction
from .curation import CurationResult, CurationRules, curate
from .dawid_skene import DawidSkeneResult, dawid_skene
from .kappa import Kappa, cohen_kappa, cohen_kappa_table, pairwise_cohen_kappa
from .rankings import (
    Rankings,
    bradley_terry,
    consensus_groups,
    consensus_orders,
    consensus_ranks,
    decompose_rankings,
    kendall_tau_pairs,
    kendall_w,
    pair_directions,
)
from .report import agreement_report, json_safe, ranking_report

__all__ = [
    "Answers", "Rankings",
    "agreement_report", "ranking_report", "json_safe",
    "curate", "CurationRules", "CurationResult",
    "percent_agreement", "PercentAgreement", "leave_one_out_agreement", "LeaveOneOut",
    "one_vs_one_agreement", "item_agreement", "fleiss_kappa", "fleiss_kappa_z",
    "cohen_kappa", "cohen_kappa_table", "pairwise_cohen_kappa", "Kappa",
    "krippendorff_alpha", "krippendorff_alphas", "alpha_from_reliability_data", "coincidence_matrix",
    "dawid_skene", "DawidSkeneResult", "consensus", "majority_direction",
    "annotator_stats", "reading_floor_seconds",
    "decompose_rankings", "kendall_tau_pairs", "kendall_w", "bradley_terry", "consensus_orders", "consensus_groups",
    "consensus_ranks", "pair_directions",
]
