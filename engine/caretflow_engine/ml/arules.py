"""Association rules (market basket analysis); PyCaret 3 dropped the arules module PyCaret 2 had.

Input is a table in one of two layouts:

- ``transactions``: one row per (transaction, item), e.g. ``demo-data/france.csv`` with the
  transaction column ``InvoiceNo`` and the item column ``Description``;
- ``basket``: one row per basket, one column holding its items separated by ``separator``.

Items are trimmed strings (case kept); empty and null items, rows without a transaction id and the
``ignore_items`` are dropped, and a basket left with no item does not count as a transaction.

Frequent itemsets are mined with mlxtend's apriori candidate step (``low_memory`` variant) over a
sparse one-hot matrix of the items frequent enough to matter. Measured on france.csv (461
invoices, 1,564 items, two shared cores), mlxtend 0.23.4:

    min_support    itemsets   apriori low_memory   apriori   fpgrowth
    0.05                130        0.01 s            0.01 s     0.10 s
    0.02              1,317        0.11 s            0.20 s     1.9 s
    0.01             12,506        1.1 s             4.7 s     38.8 s

fpgrowth is the slowest here because mlxtend 0.23's fpgrowth densifies the whole frame and
re-reads it once per itemset for its null-value bookkeeping; the plain apriori materialises a dense
(transactions × candidates) matrix per level (163 s vs 1.4 s on a synthetic 20,000 × 2,000 table).
The low-memory step holds at most one dense (transactions × frequent items) block at a time, which
is what ``max_cells`` bounds. The levels are driven here, not by ``mlxtend.apriori``, so mining can
stop as soon as the number of itemsets passes ``max_itemsets`` (a low support on long baskets
otherwise explodes: france.csv at 0.005 without max_len ran for minutes).

Rules are derived from the integer support counts, so thresholds are compared exactly (no float
drift of support ratios) and the "nothing found" hints come out of the same pass.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import combinations, islice
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import user_error

LAYOUTS = ("transactions", "basket")
MAX_CELLS = 200_000_000  # transactions × frequent items held dense by one apriori step: 200 MB of booleans
MAX_ITEMSETS = 200_000
MAX_RULES = 500_000
JOIN = " & "


@dataclass(frozen=True)
class BasketLayout:
    """Where the baskets are in a table (see the module docstring)."""

    layout: str = "transactions"
    transaction_column: str | None = None
    item_column: str | None = None
    basket_column: str | None = None
    separator: str = ","


@dataclass
class Baskets:
    """Deduplicated (basket, item) pairs. ``keys[b]`` identifies basket ``b``: the transaction id,
    or the row label for the basket layout. Baskets may have no pair (all items empty/ignored)."""

    keys: pd.Index
    basket: np.ndarray
    item: np.ndarray


@dataclass
class RulesResult:
    """Mined itemsets and rules.

    ``itemsets``: items (sorted list of str), support, length; by support desc, length, items.
    ``rules``: antecedents, consequents (sorted lists of str), antecedent_support, consequent_support,
    support, confidence, lift, leverage, conviction (float; NaN where infinite, i.e. confidence 1);
    by lift desc, confidence desc, support desc, then items.
    """

    itemsets: pd.DataFrame
    rules: pd.DataFrame
    n_transactions: int
    n_items: int
    layout: BasketLayout
    params: dict[str, Any] = field(default_factory=dict)


def _column_list(columns: Any) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:30]) + (f" … ({len(names)} columns)" if len(names) > 30 else "")


def _require(df: pd.DataFrame, role: str, column: str | None) -> str:
    if not column:
        raise user_error("ColumnMissing", f"The {role} column is not set.",
                         f"Set it to one of the dataset's columns: {_column_list(df.columns)}.")
    if column not in df.columns:
        raise user_error("ColumnNotFound", f"The {role} column '{column}' is not in the dataset.",
                         f"Pick one of the dataset's columns: {_column_list(df.columns)}.")
    return column


def clean_items(values: pd.Series) -> pd.Series:
    """Items as trimmed strings, NA for null or empty; whole floats (a numeric code column with
    gaps) print without '.0'."""
    if pd.api.types.is_float_dtype(values) and ((values.dropna() % 1) == 0).all():
        values = values.astype("Int64")
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def layout_columns(df: pd.DataFrame, layout: BasketLayout) -> list[str]:
    """The columns ``layout`` reads from ``df`` (transaction and item, or basket); a user error names
    a column that is not set or not in ``df``. Lets a caller check a request before mining."""
    if layout.layout == "transactions":
        return [_require(df, "transaction", layout.transaction_column), _require(df, "item", layout.item_column)]
    if layout.layout == "basket":
        return [_require(df, "basket", layout.basket_column)]
    raise user_error("InvalidParameter", f"Unknown basket layout '{layout.layout}'.",
                     f"Use one of: {', '.join(LAYOUTS)}.")


def read_baskets(df: pd.DataFrame, layout: BasketLayout, ignore_items: frozenset[str] = frozenset()) -> Baskets:
    """The (basket, item) pairs of ``df`` in ``layout``; baskets in order of first appearance."""
    if layout.layout == "transactions":
        tcol = _require(df, "transaction", layout.transaction_column)
        icol = _require(df, "item", layout.item_column)
        codes, keys = pd.factorize(df[tcol], sort=False)
        items = clean_items(df[icol]).to_numpy(dtype=object, na_value=None)
    elif layout.layout == "basket":
        bcol = _require(df, "basket", layout.basket_column)
        if not layout.separator:
            raise user_error("InvalidParameter", "The item separator is empty.", "Set a separator such as ','.")
        split = pd.Series(clean_items(df[bcol]).str.split(layout.separator, regex=False).to_numpy(), dtype=object)
        exploded = split.explode()
        codes = exploded.index.to_numpy()
        items = clean_items(exploded.reset_index(drop=True).astype("string")).to_numpy(dtype=object, na_value=None)
        keys = df.index
    else:
        raise user_error("InvalidParameter", f"Unknown basket layout '{layout.layout}'.",
                         f"Use one of: {', '.join(LAYOUTS)}.")
    pairs = pd.DataFrame({"basket": np.asarray(codes), "item": items})
    keep = (pairs["basket"] >= 0) & pairs["item"].notna()
    if ignore_items:
        keep &= ~pairs["item"].isin(ignore_items)
    pairs = pairs[keep].drop_duplicates()
    return Baskets(pd.Index(keys), pairs["basket"].to_numpy(dtype=np.int64), pairs["item"].to_numpy(dtype=object))


def _round_down(x: float) -> float:
    """``x`` rounded down to 3 significant digits (a threshold that still admits ``x``)."""
    digits = max(3, 2 - math.floor(math.log10(x)))
    return math.floor(x * 10**digits) / 10**digits


def _check_params(min_support: float, min_confidence: float, min_lift: float, max_len: int | None) -> None:
    problems = []
    if not 0 < min_support <= 1:
        problems.append(("min_support", min_support, "a fraction of transactions in (0, 1], e.g. 0.05"))
    if not 0 <= min_confidence <= 1:
        problems.append(("min_confidence", min_confidence, "a value in [0, 1], e.g. 0.5"))
    if not min_lift >= 0:
        problems.append(("min_lift", min_lift, "a value ≥ 0, e.g. 1 (rules better than chance)"))
    if max_len is not None and max_len < 2:
        problems.append(("max_len", max_len, "at least 2 (a rule needs two items), or unset for no limit"))
    if problems:
        name, value, what = problems[0]
        raise user_error("InvalidParameter", f"{name} is {value}.", f"Set {name} to {what}.")


def _frequent_levels(
    X: sp.csc_matrix, min_count: int, min_support: float, max_len: int | None, max_itemsets: int
) -> list[np.ndarray]:
    """Per itemset size k, an array of rows [count, item codes...], by mlxtend's low-memory apriori
    step; raises TooManyItemsets as soon as the total passes ``max_itemsets``."""
    from mlxtend.frequent_patterns.apriori import generate_new_combinations_low_memory

    n, f = X.shape
    counts = np.asarray(X.sum(axis=0)).ravel().astype(np.int64)
    levels = [np.column_stack([counts, np.arange(f)])]
    total = f
    if total > max_itemsets:
        raise user_error("TooManyItemsets", f"{total} single items reach min_support {min_support}, more than the "
                         f"limit of {max_itemsets} itemsets.", "Raise min_support.")
    # mlxtend keeps candidates with count >= min_support * n; half a count below ours makes that exact
    threshold = (min_count - 0.5) / n
    while max_len is None or len(levels) < max_len:
        k = len(levels) + 1
        generator = generate_new_combinations_low_memory(levels[-1][:, 1:], X, threshold, True)
        flat = np.fromiter(islice(generator, (max_itemsets - total + 1) * (k + 1)), dtype=np.int64)
        if flat.size == 0:
            break
        level = flat.reshape(-1, k + 1)
        if total + len(level) > max_itemsets:
            fits = f" or set max_len to {k - 1}" if k - 1 >= 2 else ""
            raise user_error(
                "TooManyItemsets",
                f"More than {max_itemsets} itemsets reach min_support {min_support} "
                f"({total} of up to {k - 1} items, and at least {len(level)} of {k} items).",
                f"Raise min_support{fits}; long baskets at a low support make the itemsets explode.",
            )
        levels.append(level)
        total += len(level)
    return levels


def mine_rules(
    df: pd.DataFrame,
    layout: BasketLayout,
    min_support: float = 0.05,
    min_confidence: float = 0.5,
    min_lift: float = 1.0,
    max_len: int | None = None,
    ignore_items: list[str] | tuple[str, ...] | None = (),
    max_itemsets: int = MAX_ITEMSETS,
    max_cells: int = MAX_CELLS,
    max_rules: int = MAX_RULES,
) -> RulesResult:
    """Frequent itemsets and association rules of the baskets in ``df`` (see ``RulesResult``).

    A rule A → C is kept when support(A ∪ C) ≥ min_support, confidence = support(A ∪ C) /
    support(A) ≥ min_confidence and lift = confidence / support(C) ≥ min_lift. Raises user errors
    (with hints naming values that would work) when nothing is found or the request is too large.
    """
    _check_params(min_support, min_confidence, min_lift, max_len)
    ignored = frozenset(str(i).strip() for i in ignore_items or ())
    baskets = read_baskets(df, layout, ignored)
    where = f"column '{layout.item_column if layout.layout == 'transactions' else layout.basket_column}'"
    if len(baskets.basket) == 0:
        raise user_error("NoTransactions", f"No transaction has an item: {where} is empty"
                         + (" once the ignored items are dropped." if ignored else "."),
                         "Pick the column that holds the items, or ignore fewer items.")
    rows, _ = pd.factorize(baskets.basket, sort=True)
    n = int(rows.max()) + 1
    names, item_codes = np.unique(baskets.item.astype(str), return_inverse=True)
    counts = np.bincount(item_codes, minlength=len(names))
    min_count = max(1, math.ceil(min_support * n - 1e-9))
    frequent = np.nonzero(counts >= min_count)[0]  # names are sorted, so item codes follow name order
    by_count = np.sort(counts)[::-1]
    if frequent.size == 0:
        rank = min(20, len(by_count))
        hint_support = _round_down(by_count[rank - 1] / n)
        raise user_error(
            "NoFrequentItemsets",
            f"No item is in {min_support} of the {n} transactions (the most frequent item is in "
            f"{by_count[0] / n:.4g} of them).",
            f"Lower min_support to {hint_support} or less (the support of the {_ordinal(rank)} most frequent item).",
        )
    if n * frequent.size > max_cells:
        fits = int(max(1, max_cells // n))
        raise user_error(
            "TooManyItems",
            f"{n} transactions × {frequent.size} frequent items = {n * frequent.size:,} cells, over the limit of "
            f"{max_cells:,} the miner may hold in memory.",
            f"Raise min_support above {by_count[min(fits, len(by_count) - 1)] / n:.4g} (leaving at most {fits} "
            "frequent items), ignore the most common items, or mine a sample of the transactions.",
        )
    remap = np.full(len(names), -1)
    remap[frequent] = np.arange(frequent.size)
    keep = remap[item_codes] >= 0
    X = sp.csc_matrix((np.ones(int(keep.sum()), dtype=bool), (rows[keep], remap[item_codes[keep]])),
                      shape=(n, frequent.size))
    levels = _frequent_levels(X, min_count, min_support, max_len, max_itemsets)
    item_names = names[frequent]
    count_of = {tuple(int(c) for c in row[1:]): int(row[0]) for level in levels for row in level}
    itemsets = _itemsets_frame(count_of, item_names, n)
    rules = _rules(count_of, item_names, n, min_confidence, min_lift, min_support, max_rules,
                   lambda: _best_pair_support(rows, item_codes, counts, n))
    params = {"min_support": min_support, "min_confidence": min_confidence, "min_lift": min_lift,
              "max_len": max_len, "ignore_items": sorted(ignored)}
    return RulesResult(itemsets, rules, n, len(names), layout, params)


def _best_pair_support(rows: np.ndarray, item_codes: np.ndarray, counts: np.ndarray, n: int, top: int = 2000) -> float:
    """Support of the most frequent pair of items, among the ``top`` most frequent items (a pair is
    never more frequent than its items, and this bounds the co-occurrence matrix)."""
    candidates = np.argsort(-counts, kind="stable")[:top]
    candidates = candidates[counts[candidates] >= 2]
    if candidates.size < 2:
        return 0.0
    remap = np.full(len(counts), -1)
    remap[candidates] = np.arange(candidates.size)
    keep = remap[item_codes] >= 0
    M = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], remap[item_codes[keep]])), shape=(n, candidates.size))
    together = sp.triu(M.T @ M, k=1)
    return float(together.max()) / n if together.nnz else 0.0


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _itemsets_frame(count_of: dict[tuple[int, ...], int], names: np.ndarray, n: int) -> pd.DataFrame:
    keys = list(count_of)
    frame = pd.DataFrame({
        "items": [[str(names[c]) for c in key] for key in keys],
        "support": [count_of[key] / n for key in keys],
        "length": [len(key) for key in keys],
    })
    frame["_text"] = frame["items"].map(JOIN.join)
    frame = frame.sort_values(["support", "length", "_text"], ascending=[False, True, True], kind="mergesort")
    return frame.drop(columns="_text").reset_index(drop=True)


def _rules(count_of: dict[tuple[int, ...], int], names: np.ndarray, n: int, min_confidence: float,
           min_lift: float, min_support: float, max_rules: int, pair_support: Any = None) -> pd.DataFrame:
    """Rules from the itemset counts; ``pair_support()`` gives the best pair's support for the hint
    when no itemset has two items."""
    found: list[tuple[tuple[int, ...], tuple[int, ...], int, int, int]] = []
    # for the NoRules hint: the best confidence among lift-passing rules and vice versa, and overall
    conf_at_lift = lift_at_conf = best_conf = best_lift = -1.0
    for key, count in count_of.items():
        for size in range(1, len(key)):
            for antecedent in combinations(key, size):
                consequent = tuple(c for c in key if c not in antecedent)
                a, c = count_of[antecedent], count_of[consequent]
                confidence, lift = count / a, count * n / (a * c)
                best_conf, best_lift = max(best_conf, confidence), max(best_lift, lift)
                if lift >= min_lift:
                    conf_at_lift = max(conf_at_lift, confidence)
                if confidence >= min_confidence:
                    lift_at_conf = max(lift_at_conf, lift)
                    if lift >= min_lift:
                        found.append((antecedent, consequent, a, c, count))
                        if len(found) > max_rules:
                            raise user_error(
                                "TooManyRules",
                                f"More than {max_rules} rules reach support ≥ {min_support}, confidence ≥ "
                                f"{min_confidence} and lift ≥ {min_lift}.",
                                "Raise min_confidence, min_lift or min_support, or set max_len, to keep the "
                                "rules that matter.",
                            )
    if not found:
        best = (conf_at_lift, lift_at_conf, best_conf, best_lift)
        pairs = pair_support() if best_conf < 0 and pair_support else 0.0
        raise _no_rules(len(count_of), min_support, min_confidence, min_lift, best, pairs)
    a = np.array([r[2] for r in found], dtype=float) / n
    c = np.array([r[3] for r in found], dtype=float) / n
    s = np.array([r[4] for r in found], dtype=float) / n
    confidence = np.array([r[4] / r[2] for r in found])
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = np.where(confidence < 1, (1 - c) / (1 - confidence), np.nan)
    frame = pd.DataFrame({
        "antecedents": [[str(names[i]) for i in r[0]] for r in found],
        "consequents": [[str(names[i]) for i in r[1]] for r in found],
        "antecedent_support": a, "consequent_support": c, "support": s, "confidence": confidence,
        "lift": np.array([r[4] * n / (r[2] * r[3]) for r in found]), "leverage": s - a * c, "conviction": conviction,
    })
    frame["_a"] = frame["antecedents"].map(JOIN.join)
    frame["_c"] = frame["consequents"].map(JOIN.join)
    frame = frame.sort_values(["lift", "confidence", "support", "_a", "_c"],
                              ascending=[False, False, False, True, True], kind="mergesort")
    return frame.drop(columns=["_a", "_c"]).reset_index(drop=True)


def _no_rules(itemsets: int, min_support: float, min_confidence: float, min_lift: float,
              best: tuple[float, float, float, float], pair_support: float = 0.0) -> Exception:
    conf_at_lift, lift_at_conf, best_conf, best_lift = best
    if best_conf < 0:
        pair = (f"Lower min_support to {_round_down(pair_support)} or less (the support of the most frequent pair)"
                if pair_support > 0 else "Check that the transaction column groups several items per transaction")
        return user_error(
            "NoRules",
            f"No two items appear together in {min_support} of the transactions ({itemsets} frequent single "
            f"item{'s' if itemsets != 1 else ''}), so there is no rule.",
            pair + "; a rule needs items bought together.",
        )
    options = []
    if conf_at_lift >= 0:
        options.append(f"min_confidence to {_round_down(conf_at_lift)} "
                       f"(the highest confidence with lift ≥ {min_lift})")
    if lift_at_conf >= 0:
        options.append(f"min_lift to {_round_down(lift_at_conf)} "
                       f"(the highest lift with confidence ≥ {min_confidence})")
    if not options:
        options.append(f"min_confidence to {_round_down(best_conf)} and min_lift to {_round_down(best_lift)}")
    return user_error(
        "NoRules",
        f"No rule reaches confidence ≥ {min_confidence} and lift ≥ {min_lift} ({itemsets} frequent itemsets at "
        f"min_support {min_support}); the highest confidence found is {best_conf:.4g}, the highest lift "
        f"{best_lift:.4g}.",
        "Lower " + ", or ".join(options) + "; or lower min_support to find more itemsets.",
    )


def items_text(items: Any) -> str:
    """Items as one text cell: a JSON array (``["GIN & TONIC CARD", "MUG"]``). Item names hold "&",
    "," and spaces (france.csv has "VINTAGE SNAKES & LADDERS"), so no separator would be unambiguous;
    JSON reads back exactly, in any language."""
    return json.dumps([str(i) for i in items], ensure_ascii=False)


def itemsets_frame(result: RulesResult) -> pd.DataFrame:
    """Itemsets for storing as a dataset: items (a JSON array as text, see ``items_text``), support, length."""
    return result.itemsets.assign(items=result.itemsets["items"].map(items_text))


def rules_frame(result: RulesResult) -> pd.DataFrame:
    """Rules for storing as a dataset: antecedents and consequents as JSON arrays (``items_text``), the
    metrics as floats, conviction nullable (null where infinite)."""
    rules = result.rules
    return rules.assign(
        antecedents=rules["antecedents"].map(items_text),
        consequents=rules["consequents"].map(items_text),
        conviction=rules["conviction"].astype("Float64"),
    )
