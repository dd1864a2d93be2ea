"""Active learning: the GP surrogate, UCB acquisition, and short real loops on the embedded MP band gaps."""
import json

import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, need
from tfmat.active.acquisition import climb, propose, spread_batch, ucb
from tfmat.active.loop import ActiveConfig, active_learn, load_labelled
from tfmat.active.surrogate import GaussianProcess, Hyperparameters
from tfmat.chemistry import check_formulas, rules_named
from tfmat.cli import main
from tfmat.composition import counts_of


def closed_form(x, y, xq, hyper, kernel):
    """The textbook GP posterior (constant mean = the labels' mean), in NumPy."""
    def k(a, b):
        r = np.sqrt((((a[:, None] - b[None]) / hyper.length_scales) ** 2).sum(-1))
        if kernel == "rbf":
            return hyper.amplitude ** 2 * np.exp(-r ** 2 / 2)
        return hyper.amplitude ** 2 * (1 + np.sqrt(5) * r + 5 * r ** 2 / 3) * np.exp(-np.sqrt(5) * r)

    noise = hyper.noise + 1e-4  # the surrogate's jitter
    m = y.mean()
    kxx = k(x, x) + noise * np.eye(len(x))
    kq = k(xq, x)
    mean = m + kq @ np.linalg.solve(kxx, y - m)
    var = hyper.amplitude ** 2 - np.einsum("ij,ji->i", kq, np.linalg.solve(kxx, kq.T))
    return mean, np.sqrt(var)


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_gp_posterior_matches_the_closed_form(kernel):
    rng = np.random.default_rng(0)
    x, xq = rng.uniform(-1, 1, (7, 2)), rng.uniform(-1, 1, (5, 2))
    y = np.sin(3 * x[:, 0]) + x[:, 1]
    hyper = Hyperparameters(1.3, np.array([0.7, 1.9]), 0.05)
    mean, std = GaussianProcess(x, y, kernel, hyper).posterior(xq)
    want_mean, want_std = closed_form(x, y, xq, hyper, kernel)
    np.testing.assert_allclose(mean, want_mean, atol=1e-10)
    np.testing.assert_allclose(std, want_std, atol=1e-10)
    at_data, spread = GaussianProcess(x, y, kernel, hyper).posterior(x)
    assert np.all(spread < hyper.amplitude)  # a labelled point is less uncertain than the prior


def test_fitting_raises_the_marginal_likelihood_and_finds_the_relevant_dimensions():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (200, 6))
    y = np.sin(3 * x[:, 0]) + 0.5 * x[:, 1] + 0.01 * rng.normal(size=200)  # dimensions 2-5 do not matter
    gp = GaussianProcess(x, y)
    before = float(gp.log_marginal_likelihood())
    after = gp.fit(60)
    assert after > before + 50
    scales = gp.hyperparameters.length_scales
    assert scales[:2].max() < scales[2:].min()
    xt = rng.uniform(-1, 1, (300, 6))
    yt = np.sin(3 * xt[:, 0]) + 0.5 * xt[:, 1]
    assert np.abs(gp.posterior(xt)[0] - yt).mean() < 0.1 * np.abs(yt - yt.mean()).mean()


def test_ucb_climbs_to_the_arg_max_of_mean_plus_kappa_std_in_1d():
    x = np.array([[-0.8], [-0.3], [0.1], [0.6]])
    y = np.array([0.2, 1.0, 0.4, -0.5])
    gp = GaussianProcess(x, y, "rbf", Hyperparameters(1.0, np.array([0.3]), 1e-3))
    grid = np.linspace(-1, 1, 4001)[:, None]
    for kappa in (0.0, 2.0, 10.0):
        best = grid[np.argmax(ucb(gp, grid, kappa)), 0]
        points, values = climb(gp, np.linspace(-1, 1, 9)[:, None], kappa, steps=300, lr=0.02)
        assert points[np.argmax(values), 0] == pytest.approx(best, abs=2e-3), kappa
    assert abs(grid[np.argmax(ucb(gp, grid, 0.0)), 0] - grid[np.argmax(ucb(gp, grid, 10.0)), 0]) > 0.1


def test_a_batch_keeps_its_points_apart_best_first():
    points = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [1.05, 0.0], [3.0, 0.0]])
    values = np.array([5.0, 4.9, 4.0, 4.5, 1.0])
    assert spread_batch(points, values, 3, 0.5).tolist() == [0, 3, 4]
    assert spread_batch(points, values, 2, 0.01).tolist() == [0, 1]
    x = np.random.default_rng(0).uniform(-1, 1, (30, 3))
    gp = GaussianProcess(x, x[:, 0] ** 2, "rbf", Hyperparameters(1.0, np.ones(3), 1e-3))
    batch = propose(gp, np.random.default_rng(1).uniform(-1, 1, (64, 3)), 5, 2.0, 0.4, steps=30)
    assert len(batch) == 5 and np.all(np.abs(batch) <= 1)
    d = np.linalg.norm(batch[:, None] - batch[None], axis=-1)
    assert d[np.triu_indices(5, 1)].min() >= 0.4


SHORT = dict(labels=300, rounds=3, batch=60, starts=128, climb_steps=60, gp_steps=30, refit_steps=10, trees=100,
             candidates=0)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("active") / "ucb"
    return out, active_learn(ActiveConfig(**SHORT), out, progress=False)


def test_a_short_loop_adds_new_valid_formulas_and_improves_the_wide_gap_tail(short_run):
    out, results = short_run
    acquired = pd.read_csv(out / "acquired.csv")
    funnel = results["funnel"]
    assert funnel["acquired"] == len(acquired) > 20
    assert funnel["proposed"] == funnel["undecodable"] + funnel["invalid"] + funnel["known"] + funnel["repeated"] + \
        funnel["acquired"]
    data = load_labelled(None, 0)
    assert not set(acquired.formula) & set(data.formulas) and acquired.formula.is_unique
    counts = counts_of(acquired.formula.tolist())  # every one is a 2-8 element formula of the matrix
    assert ((counts > 0).sum(1) >= 2).all()
    assert check_formulas(acquired.formula, rules_named("thesis")).validity.en.all()
    assert (acquired.band_gap >= 0).all()
    test = results["test"]
    assert test["active"]["mae_wide_gap"] < test["base"]["mae_wide_gap"]
    assert results["wide_gap_acquired"] > results["starting_wide_gap"] * len(acquired) / 300  # UCB seeks wide gaps
    rounds = pd.read_csv(out / "rounds.csv")
    assert rounds["round"].tolist() == [0, 1, 2] and rounds.gp_log_likelihood.notna().all()
    assert (out / "active_learning.png").stat().st_size > 10_000


def test_a_run_extended_round_by_round_ends_as_one_run_does(short_run, tmp_path):
    out, results = short_run
    step = tmp_path / "steps"
    active_learn(ActiveConfig(**{**SHORT, "rounds": 1}), step, progress=False)
    state = json.loads((step / "state.json").read_text())
    assert state["rounds_done"] == 1
    rows = pd.read_csv(step / "acquired.csv", float_precision="round_trip")  # killed after writing round 1's rows, before its state
    pd.concat([rows, rows.assign(round=1)]).to_csv(step / "acquired.csv", index=False)
    again = active_learn(ActiveConfig(**SHORT), step, progress=False)
    assert (step / "acquired.csv").read_bytes() == (out / "acquired.csv").read_bytes()
    assert again["test"] == results["test"]
    with pytest.raises(Exception, match="other labels"):
        active_learn(ActiveConfig(**{**SHORT, "labels": 301}), step, progress=False)


@pytest.mark.parametrize("acquisition", ["random-latent", "random-labels"])
def test_the_controls_acquire_without_the_surrogate(tmp_path, acquisition):
    cfg = ActiveConfig(**{**SHORT, "rounds": 1, "acquisition": acquisition})
    results = active_learn(cfg, tmp_path / acquisition, progress=False)
    acquired = pd.read_csv(tmp_path / acquisition / "acquired.csv")
    data = load_labelled(None, 0)
    in_data = acquired.formula.isin(data.formulas)
    if acquisition == "random-labels":  # rows of the training split, with their DFT labels
        assert len(acquired) == 60 and in_data.all()
        truth = dict(zip(data.formulas, data.gaps))
        np.testing.assert_array_equal(acquired.band_gap, [truth[f] for f in acquired.formula])
    else:
        assert results["funnel"]["proposed"] == 60 and not in_data.any()


def test_active_learn_command_rejects_bad_input(tmp_path, capsys):
    assert main(["active-learn", "--labels", "0", "--out", str(tmp_path / "a")]) == 2
    assert "labels must be at least 1" in capsys.readouterr().err
    assert main(["active-learn", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "b")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["active-learn", "--oracle", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c")]) == 2
    assert not (tmp_path / "c").exists()


@pytest.mark.shared
def test_the_papers_band_gap_file_loads_by_its_eg_column():
    path = need(REFERENCE / "active_learning" / "mp_bandgap_42k.csv")
    data = load_labelled(str(path), 0)
    raw = pd.read_csv(path)
    assert len(data.formulas) + data.rejected <= len(raw)
    assert 25_000 < len(data.formulas) < len(raw)  # formulas with a count above 8 do not fit the matrix
    assert {s: int((data.split == s).sum()) for s in ("train", "validation", "test")}["train"] == \
        int(0.6 * len(data.formulas))
    from tfmat.composition import encode_formulas
    enc = encode_formulas(raw.composition[:300].tolist(), min_elements=2)  # rows the matrix holds
    raw = raw.iloc[enc.rows].assign(formula=enc.formulas)
    want = raw.groupby("formula").Eg.mean()  # polymorphs averaged
    got = dict(zip(data.formulas, data.gaps))
    np.testing.assert_allclose([got[f] for f in want.index], want.to_numpy())


def test_the_cnn_can_be_the_screening_model(tmp_path):
    cfg = ActiveConfig(**{**SHORT, "rounds": 1, "acquisition": "random-labels", "screening": "cnn", "cnn_epochs": 30})
    results = active_learn(cfg, tmp_path / "cnn", progress=False)
    assert (tmp_path / "cnn" / "screening" / "active" / "model").is_dir()
    data = load_labelled(None, 0)
    test = data.gaps[data.split == "test"]
    assert results["test"]["active"]["mae"] < np.abs(test - np.median(test)).mean()  # beats a constant guess
