"""`surveykit weight`: rake a file to a targets YAML, write weights and diagnostics."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES

from surveykit import cli
from surveykit.commands import weight as weight_cmd
from surveykit.errors import SchemaError, WeightingError


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="surveykit")
    weight_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture()
def targets_yaml(tmp_path, apipop):
    n = len(apipop)
    lines = [f"population: {n}", "margins:"]
    for col in ("stype", "sch.wide"):
        shares = apipop[col].value_counts() / n
        lines.append(f"  {col}:")
        lines += [f"    {k}: {v!r}" for k, v in shares.items()]
    path = tmp_path / "targets.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_weight_cli_matches_r_rake(tmp_path, apiclus1, targets_yaml, capsys):
    data = tmp_path / "apiclus1.csv"
    apiclus1.to_csv(data, index=False)
    out = tmp_path / "out" / "raked.csv"
    code = run_cli(["weight", str(data), "--targets", str(targets_yaml), "--out", str(out),
                    "--weights", "pw", "--tol", "1e-13", "--max-iter", "500"])
    assert code == 0
    res = pd.read_csv(out)
    assert len(res) == len(apiclus1) and "weight_raked" in res.columns
    ref = pd.read_csv(R_FIXTURES / "weighting_weights_apiclus1.csv")["rake_stype_schwide"]
    np.testing.assert_allclose(res["weight_raked"], ref, rtol=1e-8)
    summary = pd.read_csv(tmp_path / "out" / "raked_weight_summary.csv", index_col=0)
    assert summary.loc["sum", "after"] == pytest.approx(6194, rel=1e-10)
    assert summary.loc["n", "before"] == 183
    margins = pd.read_csv(tmp_path / "out" / "raked_margins.csv")
    assert margins["difference"].abs().max() < 1e-8
    printed = capsys.readouterr().out
    assert "Weight summary" in printed and "deff_kish" in printed and "sch.wide" in printed


def test_weight_cli_bounds_and_trim(tmp_path, apiclus1, targets_yaml):
    data = tmp_path / "apiclus1.csv"
    apiclus1.to_csv(data, index=False)
    out = tmp_path / "raked.parquet"
    run_cli(["weight", str(data), "--targets", str(targets_yaml), "--out", str(out),
             "--weights", "pw", "--bounds", "0.8", "1.8", "--column", "w2", "--tol", "1e-13"])
    res = pd.read_parquet(out)
    ref = pd.read_csv(R_FIXTURES / "weighting_weights_apiclus1.csv")
    np.testing.assert_allclose(res["w2"], ref["cal_raking_margins_bounded"], rtol=1e-8)
    out2 = tmp_path / "trimmed.csv"
    run_cli(["weight", str(data), "--targets", str(targets_yaml), "--out", str(out2),
             "--weights", "pw", "--trim", "31", "60"])
    w = pd.read_csv(out2)["weight_raked"]
    assert w.min() >= 31 - 1e-9 and w.max() <= 60 + 1e-9
    assert w.sum() == pytest.approx(6194, rel=1e-9)  # trimming redistributes the excess


def test_weight_cli_errors(tmp_path, apiclus1):
    data = tmp_path / "d.csv"
    apiclus1.to_csv(data, index=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("margins:\n  stype: {E: 0.7, H: 0.1, M: 0.2}\nweights: pw\n")
    with pytest.raises(SchemaError, match="unknown keys") as info:
        run_cli(["weight", str(data), "--targets", str(bad), "--out", str(tmp_path / "o.csv")])
    assert info.value.file == str(bad)
    missing = tmp_path / "missing.yaml"
    missing.write_text("margins:\n  stype: {E: 0.7, H: 0.3}\n")
    with pytest.raises(WeightingError, match="absent from the targets") as info:
        run_cli(["weight", str(data), "--targets", str(missing), "--out",
                 str(tmp_path / "o.csv"), "--weights", "pw"])
    assert info.value.values == ["M"] and info.value.file == str(data)


def test_weight_cli_refuses_shares_that_do_not_sum_to_one(tmp_path, apiclus1):
    """Issue 11.2 through the CLI: shares summing to 0.9 were taken as counts."""
    data = tmp_path / "apiclus1.csv"
    apiclus1.to_csv(data, index=False)
    targets = tmp_path / "t.yaml"
    targets.write_text("margins:\n  stype: {E: 0.40, H: 0.21, M: 0.29}\n")
    with pytest.raises(WeightingError, match="do not sum to 1") as info:
        run_cli(["weight", str(data), "--targets", str(targets), "--out",
                 str(tmp_path / "x.csv"), "--weights", "pw"])
    assert info.value.values == ["stype: 0.9"]
    assert not (tmp_path / "x.csv").exists()


def test_weight_cli_margins_carry_labels_and_the_synthetic_mark(tmp_path, capsys):
    """A labelled .sav: the margin table shows variable and value labels beside the codes; the
    replica's diagnostics files say SYNTHETIC in a data_source column, as its data do."""
    import surveykit as sk
    from surveykit.io.readers import write_sav

    df = sk.load_replica()[["resp_id", "weight", "region", "urban"]].copy()
    labels = sk.load_replica().attrs
    sav = tmp_path / "replica_part.sav"
    write_sav(df, sav, variable_labels=labels["variable_labels"],
              value_labels={c: labels["value_labels"][c] for c in ("region", "urban")})
    targets = tmp_path / "t.yaml"
    targets.write_text("margins:\n  region: {1: 0.4, 2: 0.3, 3: 0.3}\n"
                       "  urban: {0: 0.35, 1: 0.65}\n")
    out = tmp_path / "w.csv"
    assert cli.main(["weight", str(sav), "--weights", "weight", "--targets", str(targets),
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("*** Synthetic replica")
    margins = pd.read_csv(tmp_path / "w_margins.csv")
    vl = labels["value_labels"]
    assert margins["variable_label"].tolist()[:1] == [labels["variable_labels"]["region"]]
    assert margins["category_label"].tolist() == [vl["region"][1], vl["region"][2],
                                                  vl["region"][3], vl["urban"][0], vl["urban"][1]]
    assert (margins["data_source"] == "SYNTHETIC replica - not the original survey data").all()
    summary = pd.read_csv(tmp_path / "w_weight_summary.csv")
    assert summary["data_source"].str.startswith("SYNTHETIC").all()
    assert "data_source" not in printed  # the banner says it on screen
    np.testing.assert_allclose(margins["weighted_share"], margins["target_share"], atol=1e-8)
