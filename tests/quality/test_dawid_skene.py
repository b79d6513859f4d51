import warnings

import numpy as np
import pandas as pd
import pytest

from annotation.quality import consensus, dawid_skene


def simulate(rng, n_items, accuracies, per_item=None, classes=(-1, 0, 1), prior=(0.45, 0.1, 0.45)):
    """One-coin annotators: right with their accuracy, else a uniformly chosen wrong label."""
    classes = np.array(classes)
    truth = rng.choice(classes, size=n_items, p=prior)
    pool = len(accuracies)
    per_item = per_item or pool
    rows = []
    for item in range(n_items):
        for a in rng.choice(pool, per_item, replace=False):
            wrong = rng.choice(classes[classes != truth[item]])
            rows.append((item, a, truth[item] if rng.random() < accuracies[a] else wrong))
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), truth


@pytest.mark.parametrize("one_coin", [False, True])
def test_dawid_skene_iterates_exactly_as_crowd_kit(one_coin):
    # crowd-kit stops when its clipped ELBO first fails to rise, often while EM is still
    # moving on a flat likelihood, so the runs are compared step for step: same start
    # (vote shares), same number of EM steps.
    from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene

    frame, _ = simulate(np.random.default_rng(1), 300, np.random.default_rng(2).uniform(0.5, 0.95, 8), per_item=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = (OneCoinDawidSkene if one_coin else DawidSkene)().fit(frame)
    steps = len(reference.loss_history_)
    ours = dawid_skene(frame.task.values, frame.worker.values, frame.label.values,
                       one_coin=one_coin, tol=-np.inf, max_iter=steps)
    expected = reference.probas_.reindex(index=ours.items, columns=ours.classes).to_numpy()
    np.testing.assert_allclose(ours.posteriors, expected, atol=1e-6)
    assert (reference.labels_.reindex(ours.items).to_numpy() == ours.labels).all()


def test_dawid_skene_with_default_settings_gives_crowd_kits_labels():
    from crowdkit.aggregation import DawidSkene

    frame, _ = simulate(np.random.default_rng(4), 300, np.random.default_rng(5).uniform(0.5, 0.95, 8), per_item=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = DawidSkene().fit(frame)
    ours = dawid_skene(frame.task.values, frame.worker.values, frame.label.values)
    assert ours.converged
    assert (reference.labels_.reindex(ours.items).to_numpy() == ours.labels).mean() >= 0.97


def test_dawid_skene_recovers_simulated_annotator_accuracies_within_five_points():
    accuracies = np.array([0.95, 0.9, 0.8, 0.7, 0.65, 0.6])
    frame, truth = simulate(np.random.default_rng(0), 500, accuracies)
    fit = dawid_skene(frame.task.values, frame.worker.values, frame.label.values)
    assert np.abs(fit.reliability - accuracies).max() <= 0.05
    assert (fit.labels == truth[fit.items]).mean() > 0.95
    one_coin = dawid_skene(frame.task.values, frame.worker.values, frame.label.values, one_coin=True)
    assert np.abs(one_coin.reliability - accuracies).max() <= 0.05


def test_dawid_skene_confusion_rows_are_distributions_over_answers():
    frame, _ = simulate(np.random.default_rng(3), 100, [0.9, 0.7, 0.6], per_item=2)
    fit = dawid_skene(frame.task.values, frame.worker.values, frame.label.values)
    np.testing.assert_allclose(fit.confusion.sum(axis=2), 1)
    np.testing.assert_allclose(fit.posteriors.sum(axis=1), 1)
    assert fit.priors.sum() == pytest.approx(1)


def test_dawid_skene_stops_at_the_iteration_cap():
    frame, _ = simulate(np.random.default_rng(3), 100, [0.9, 0.7, 0.6], per_item=2)
    fit = dawid_skene(frame.task.values, frame.worker.values, frame.label.values, tol=-1, max_iter=3)
    assert fit.n_iter == 3 and not fit.converged


def test_dawid_skene_handles_unanimous_and_empty_input():
    fit = dawid_skene(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1, 1, 1]))
    assert fit.labels.tolist() == [1, 1] and fit.reliability.tolist() == [1.0, 1.0]
    empty = dawid_skene(np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    assert empty.posteriors.shape[0] == 0


def test_dawid_skene_consensus_can_overrule_a_majority_of_unreliable_annotators():
    # Annotators 0-1 are reliable on the 200 calibration items; 2-4 answer at random.
    rng = np.random.default_rng(9)
    rows = []
    for item in range(200):
        truth = rng.choice([-1, 1])
        rows += [(item, 0, truth), (item, 1, truth)] + [(item, a, rng.choice([-1, 1])) for a in (2, 3, 4)]
    rows += [(999, 0, -1), (999, 1, -1), (999, 2, 1), (999, 3, 1), (999, 4, 1)]
    from annotation.quality import Answers

    item, annotator, value = map(np.array, zip(*rows, strict=True))
    answers = Answers(item=item, annotator=annotator, value=value.astype(float))
    majority, ds = consensus(answers, "majority"), consensus(answers, "dawid_skene")
    assert majority.direction[-1] == 1
    assert ds.direction[-1] == -1
