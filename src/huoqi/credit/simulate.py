"""Synthetic phone data and repayment outcomes from a documented generative story.

The story (docs/credit-data.md tells it at length). Each user has four latent traits, drawn
standard normal: *stability* (a settled life: one home, one phone), *discipline* (pays on
time, avoids lotteries and games), *capacity* (income, hence spending and balances) and
*distress* (current money trouble: loan apps, falling balances), with distress leaning
against capacity and discipline (correlation -0.3). Users apply in one of ``cohorts``
monthly cohorts; everything observed lies in the 180 days before the application day.

The true model is

    logit p = base + drift × cohort − 0.40 stability − 0.60 discipline − 0.45 capacity
              + 0.50 distress

and default within the following months is Bernoulli(sigmoid(logit p + 0.6 ε)), ε ~ N(0, 1)
standing for what no phone sees (health, luck, a lost job). The AUC of p against the
outcomes (`Simulation.ceiling_auc`) is about 0.76: the ceiling any model of the phone data
can reach, since the traits are all the phone reflects. The observable events are noisy functions
of the traits, so a real model lands below it, as in published digital-footprint studies
(Berg et al. 2020: AUC 0.70-0.74). ``base`` puts the bad rate near 10%.

Observed, per user (all vectorised: counts per user, then `np.repeat` into one row per
event; no Python loop over users or events):

* device facts every ~30 days; the number of phones used grows as stability falls, rooted
  phones with low discipline, installed loan apps with distress;
* coarse location about once a day; the share of pings in the home cell rises with
  stability, the number of other cells falls with it;
* app sessions (~2 a day): the category mix leans to loan apps with distress, games with low
  discipline, finance with capacity and discipline;
* purchases (count and amount with capacity; lottery with low discipline);
* monthly bills, paid late more often with low discipline and high distress;
* weekly current-account balances (level with capacity and discipline; falling over the
  last months with distress);
* repayments of earlier loans for about half the users (late with low discipline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from huoqi.credit.events import APP_CATEGORIES, BILLER_CATEGORIES, EPOCH, MERCHANT_CATEGORIES

KINDS = (
    "device",
    "app_session",
    "location",
    "purchase",
    "bill_payment",
    "balance",
    "repayment",
)
DEVICE_CATEGORIES = ("stock", "rooted")
CATEGORIES = tuple(
    dict.fromkeys((*APP_CATEGORIES, *MERCHANT_CATEGORIES, *BILLER_CATEGORIES, *DEVICE_CATEGORIES))
)
KIND = pl.Enum(KINDS)
CATEGORY = pl.Enum(CATEGORIES)

#: The raw-event frame every feature computation reads (simulated or read from the database).
_COLUMNS: dict[str, Any] = {
    "user_id": pl.Int64,
    "day": pl.Int32,  # days since 1970-01-01
    "kind": KIND,
    "category": CATEGORY,  # app, merchant or biller category; device: stock/rooted
    "amount_fen": pl.Int64,  # purchase, bill, balance, repayment
    "value": pl.Int32,  # session minutes; device: loan apps installed
    "place": pl.Int64,  # location cell; device id
    "days_late": pl.Int16,  # bill payment, repayment
}
EVENT_SCHEMA = pl.Schema(_COLUMNS)
HISTORY_DAYS = 180
FIRST_APPLICATION = date(2025, 1, 1)
COHORT_DAYS = 30

WEIGHTS = {"stability": -0.40, "discipline": -0.60, "capacity": -0.45, "distress": 0.50}
HIDDEN = 0.6  # sd of the part of the logit no phone sees
BASE = -2.85
DRIFT = 0.05  # per cohort: later cohorts default a little more (what out-of-time tests see)

AGE_EDGES = (26, 36, 46)
AGE_BANDS = ("18-25", "26-35", "36-45", "46-60")

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Simulation:
    users: pl.DataFrame  # user_id, cohort, as_of, bad, p_true, the latent traits, age, age_band
    events: pl.DataFrame  # EVENT_SCHEMA
    seed: int

    @property
    def ceiling_auc(self) -> float:
        """AUC of the generator's own default probability: no model can beat it."""
        return auc(self.users["bad"].to_numpy(), self.users["p_true"].to_numpy())


def auc(bad: NDArray[np.bool_], score: Floats) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    bad = np.asarray(bad, dtype=bool)
    _, position, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[position]  # ties share their mean rank
    n_bad = int(bad.sum())
    n_good = len(bad) - n_bad
    if n_bad == 0 or n_good == 0:
        raise ValueError("AUC needs both good and bad outcomes")
    return float((ranks[bad].sum() - n_bad * (n_bad + 1) / 2) / (n_bad * n_good))


def _sigmoid(x: NDArray[np.floating[Any]]) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-x))
    return result


def simulate(users: int, *, seed: int = 1, cohorts: int = 6) -> Simulation:
    if users < 1 or cohorts < 1:
        raise ValueError("simulate needs at least one user and one cohort")
    rng = np.random.default_rng(seed)
    traits = _traits(rng, users)
    cohort = rng.integers(0, cohorts, users)
    first = (FIRST_APPLICATION - EPOCH).days
    as_of = first + cohort * COHORT_DAYS + rng.integers(0, COHORT_DAYS, users)
    logit = BASE + DRIFT * cohort
    for name, weight in WEIGHTS.items():
        logit = logit + weight * traits[name]
    p_true = _sigmoid(logit)  # the true model: what the traits say
    bad = rng.random(users) < _sigmoid(logit + HIDDEN * rng.standard_normal(users))
    ids = np.arange(1, users + 1, dtype=np.int64)
    table = pl.DataFrame(
        {
            "user_id": ids,
            "cohort": cohort.astype(np.int32),
            "as_of": as_of.astype(np.int32),
            "bad": bad,
            "p_true": p_true,
            **traits,
        }
    )
    parts = [
        _devices(rng, ids, as_of, traits),
        _locations(rng, ids, as_of, traits),
        _app_sessions(rng, ids, as_of, traits),
        _purchases(rng, ids, as_of, traits),
        _bills(rng, ids, as_of, traits),
        _balances(rng, ids, as_of, traits),
        _repayments(rng, ids, as_of, traits),
    ]
    # drawn last, so the rest of the data does not depend on it: older people are a little
    # more settled (the fairness report has something to look at), age itself is no cause
    age = 18 + 42 * _sigmoid(0.6 * traits["stability"] + rng.standard_normal(users))
    table = table.with_columns(
        age=pl.Series(age.astype(np.int32)),
        age_band=pl.Series(np.asarray(AGE_BANDS)[np.searchsorted(AGE_EDGES, age, "right")]),
    )
    return Simulation(table, pl.concat(parts, how="vertical"), seed)


def _traits(rng: np.random.Generator, n: int) -> dict[str, Floats]:
    stability, discipline, capacity, own = rng.standard_normal((4, n))
    distress = -0.3 * capacity - 0.3 * discipline + np.sqrt(1 - 0.18) * own
    return {
        "stability": stability,
        "discipline": discipline,
        "capacity": capacity,
        "distress": distress,
    }


def _frame(  # noqa: PLR0917 (a private row builder; every caller names the kind)
    kind: str,
    user: Ints,
    day: Ints,
    category: NDArray[np.str_] | None = None,
    amount: Ints | None = None,
    value: Ints | None = None,
    place: Ints | None = None,
    days_late: Ints | None = None,
) -> pl.DataFrame:
    n = len(user)

    def column(name: str, data: NDArray[np.generic] | None) -> pl.Series:
        dtype = EVENT_SCHEMA[name]
        if data is None:
            return pl.Series(name, [None] * n, dtype=dtype) if n else pl.Series(name, [], dtype)
        return pl.Series(name, data).cast(dtype)

    return pl.DataFrame(
        [
            pl.Series("user_id", user, pl.Int64),
            pl.Series("day", day).cast(pl.Int32),
            pl.Series("kind", [kind], KIND).extend_constant(kind, n - 1) if n else
            pl.Series("kind", [], KIND),
            column("category", category),
            column("amount_fen", amount),
            column("value", value),
            column("place", place),
            column("days_late", days_late),
        ]
    )  # fmt: skip


def _spread(
    rng: np.random.Generator, ids: Ints, as_of: Ints, counts: Ints
) -> tuple[Ints, Ints, Ints]:
    """One row per event: (index of the user, user id, day), days uniform in the history."""
    index = np.repeat(np.arange(len(ids)), counts)
    day = as_of[index] - rng.integers(1, HISTORY_DAYS + 1, len(index))
    return index, ids[index], day


def _pick(rng: np.random.Generator, weights: Floats, index: Ints) -> Ints:
    """A category per event from its user's row of (unnormalised) weights."""
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    draws = rng.random(len(index))
    picked: Ints = (draws[:, None] > cumulative[index]).sum(axis=1)
    return np.asarray(np.minimum(picked, weights.shape[1] - 1), dtype=np.int64)


def _devices(
    rng: np.random.Generator, ids: Ints, as_of: Ints, t: dict[str, Floats]
) -> pl.DataFrame:
    phones = 1 + rng.poisson(np.exp(-1.0 - 0.6 * t["stability"]))
    index, user, day = _spread(rng, ids, as_of, 4 + rng.poisson(3, len(ids)))
    # phones are used one after the other over the 180 days
    position = (HISTORY_DAYS - (as_of[index] - day)) / HISTORY_DAYS
    device = user * 64 + np.minimum(np.floor(phones[index] * position), 63).astype(np.int64)
    rooted = rng.random(len(ids)) < _sigmoid(-3.0 - 0.8 * t["discipline"])
    loan_apps = rng.poisson(np.exp(-0.5 + 0.7 * t["distress"] - 0.2 * t["discipline"]))
    jitter = rng.integers(-1, 2, len(index))  # apps come and go between reports
    return _frame(
        "device",
        user,
        day,
        category=np.where(rooted[index], "rooted", "stock"),
        value=np.maximum(loan_apps[index] + jitter * (loan_apps[index] > 0), 0),
        place=device,
    )


def _locations(
    rng: np.random.Generator, ids: Ints, as_of: Ints, t: dict[str, Floats]
) -> pl.DataFrame:
    index, user, day = _spread(rng, ids, as_of, rng.poisson(170, len(ids)))
    home = rng.integers(0, 10**9, len(ids))
    at_home = _sigmoid(1.2 + 0.7 * t["stability"] + 0.5 * rng.standard_normal(len(ids)))
    elsewhere = 1 + rng.poisson(np.exp(1.5 - 0.4 * t["stability"]))
    away = rng.integers(1, elsewhere[index] + 1)
    cell = home[index] + np.where(rng.random(len(index)) < at_home[index], 0, away)
    return _frame("location", user, day, place=cell)


def _app_sessions(
    rng: np.random.Generator, ids: Ints, as_of: Ints, t: dict[str, Floats]
) -> pl.DataFrame:
    n = len(ids)
    index, user, day = _spread(rng, ids, as_of, rng.poisson(360, n))
    taste = 0.6 * rng.standard_normal((n, len(APP_CATEGORIES)))  # personal taste, no signal
    lean = {
        "loan": -3.0 + 0.8 * t["distress"],
        "games": -0.5 - 0.4 * t["discipline"],
        "finance": -1.5 + 0.3 * t["capacity"] + 0.3 * t["discipline"],
    }
    logits = np.stack([lean.get(name, np.zeros(n)) for name in APP_CATEGORIES], axis=1) + taste
    category = np.asarray(APP_CATEGORIES)[_pick(rng, np.exp(logits), index)]
    minutes = np.clip(np.round(rng.lognormal(2.3, 0.8, len(index))), 1, 600)
    return _frame("app_session", user, day, category=category, value=minutes.astype(np.int64))


def _purchases(
    rng: np.random.Generator, ids: Ints, as_of: Ints, t: dict[str, Floats]
) -> pl.DataFrame:
    n = len(ids)
    index, user, day = _spread(rng, ids, as_of, rng.poisson(np.exp(3.4 + 0.3 * t["capacity"])))
    weights = np.ones((n, len(MERCHANT_CATEGORIES)))
    weights[:, MERCHANT_CATEGORIES.index("lottery")] = np.exp(-3.2 - 0.6 * t["discipline"])
    category = np.asarray(MERCHANT_CATEGORIES)[_pick(rng, weights, index)]
    amount = rng.lognormal(np.log(6_000) + 0.5 * t["capacity"][index], 1.0)
    return _frame("purchase", user, day, category=category, amount=np.ceil(amount).astype(np.int64))


def _bills(rng: np.random.Generator, ids: Ints, as_of: Ints, t: dict[str, Floats]) -> pl.DataFrame:
    n = len(ids)
    index, user, day = _spread(rng, ids, as_of, 6 * (1 + rng.integers(0, 3, n)))
    category = np.asarray(BILLER_CATEGORIES)[rng.integers(0, len(BILLER_CATEGORIES), len(index))]
    late = rng.random(len(index)) < _sigmoid(
        -2.2 - 0.7 * t["discipline"][index] + 0.4 * t["distress"][index]
    )
    days_late = np.where(late, 1 + rng.geometric(0.25, len(index)), 0)
    amount = np.ceil(rng.lognormal(np.log(15_000) + 0.3 * t["capacity"][index], 0.6))
    return _frame(
        "bill_payment", user, day, category=category, amount=amount.astype(np.int64),
        days_late=days_late,
    )  # fmt: skip


def _balances(
    rng: np.random.Generator, ids: Ints, as_of: Ints, t: dict[str, Floats]
) -> pl.DataFrame:
    weeks = HISTORY_DAYS // 7
    index = np.repeat(np.arange(len(ids)), weeks)
    week = np.tile(np.arange(1, weeks + 1), len(ids))
    day = as_of[index] - 7 * week + rng.integers(0, 7, len(index))
    habit = rng.standard_normal(len(ids))  # how much people keep in the account: no signal
    level = np.log(300_000) + 0.8 * t["capacity"] + 0.4 * t["discipline"] + 0.9 * habit
    # distress drains the balance towards the application day (week 1 is the latest)
    drain = np.maximum(t["distress"][index], 0) * 0.8 * (weeks - week) / weeks
    balance = np.exp(level[index] - drain + 0.5 * rng.standard_normal(len(index)))
    return _frame("balance", ids[index], day, amount=np.round(balance).astype(np.int64))


def _repayments(
    rng: np.random.Generator, ids: Ints, as_of: Ints, t: dict[str, Floats]
) -> pl.DataFrame:
    n = len(ids)
    has_loan = rng.random(n) < 0.5
    index, user, day = _spread(rng, ids, as_of, np.where(has_loan, 6, 0))
    late = rng.random(len(index)) < _sigmoid(
        -2.5 - 0.7 * t["discipline"][index] + 0.4 * t["distress"][index]
    )
    days_late = np.where(late, rng.geometric(0.15, len(index)), 0)
    amount = np.ceil(rng.lognormal(np.log(50_000) + 0.3 * t["capacity"][index], 0.5))
    return _frame("repayment", user, day, amount=amount.astype(np.int64), days_late=days_late)
