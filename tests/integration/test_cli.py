"""The command line as a user runs it: a subprocess of the installed `invigilator` script."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "server.cli", *args]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("serve", "enroll", "eval", "bench"):
        assert command in result.stdout


def test_bulk_enrolment_reports_each_row_and_keeps_going(
    tmp_path: Path, deepface_dir: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("img1.jpg", "img3.jpg", "couple.jpg"):
        shutil.copy(deepface_dir / name, photos / name)
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["roll_no", "name", "photo"])
        writer.writerow(["R001", "First Person", "img1.jpg"])
        writer.writerow(["R002", "Two Faces", "couple.jpg"])
        writer.writerow(["R003", "No Photo", "missing.jpg"])
        writer.writerow(["R004", "Escaper", "../roster.csv"])
        writer.writerow(["R005", "Second Person", "img3.jpg"])
        writer.writerow(["R001", "Duplicate", "img3.jpg"])
    data_dir = tmp_path / "data"
    result = run("enroll", "--roster", str(roster), "--photos", str(photos), data_dir=data_dir)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert lines[0].startswith("OK") and "R001" in lines[0]
    assert "R002: MULTIPLE_FACES" in lines[1]
    assert "R003: PHOTO_NOT_FOUND" in lines[2]
    assert "R004: PHOTO_NOT_FOUND" in lines[3]
    assert lines[4].startswith("OK") and "R005" in lines[4]
    assert "R001: DUPLICATE_ROLL_NO" in lines[5]
    assert lines[-1] == "enrolled 2, failed 4"
    assert len(list((data_dir / "photos").iterdir())) == 2


def test_roster_without_the_columns_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,x\n")
    result = run("enroll", "--roster", str(roster), "--photos", str(tmp_path), data_dir=tmp_path)
    assert result.returncode != 0 and "missing columns" in result.stderr


def test_eval_faces_json(tmp_path: Path, deepface_dir: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "image_a,image_b,same_person\n"
        "img1.jpg,img2.jpg,1\n"
        "img1.jpg,img3.jpg,0\n"
        "img2.jpg,img3.jpg,0\n"
        "img1.jpg,does-not-exist.jpg,1\n"
    )
    result = run("eval", "faces", "--pairs", str(pairs), "--images", str(deepface_dir), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"accuracy", "fmr", "fnmr", "threshold", "pairs", "failed"} <= set(report)
    assert report["pairs"] == 3 and report["accuracy"] == 1.0
    assert report["fmr"] == 0.0 and report["fnmr"] == 0.0
    assert report["failed"][0]["image_b"] == "does-not-exist.jpg"
    assert 0.6 < report["threshold_at_target_fmr"] < 2.0


def test_bench_faces_reports_both_pipelines(tmp_path: Path, deepface_dir: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for name in ("img1.jpg", "img2.jpg", "img3.jpg"):
        shutil.copy(deepface_dir / name, images / name)
    result = run("bench", "faces", "--images", str(images), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["pairs"] == 2 and report["decisions_agree"] == 2
    assert report["ours_median_s"] > 0 and report["reference_median_s"] > 0


@pytest.mark.parametrize("flag", ["--match-threshold=abc", "--timezone=Mars/Olympus"])
def test_bad_settings_are_reported(tmp_path: Path, flag: str) -> None:
    pairs = tmp_path / "p.csv"
    pairs.write_text("image_a,image_b,same_person\n")
    result = run("eval", "faces", "--pairs", str(pairs), "--images", str(tmp_path), flag)
    assert result.returncode == 2 and "invigilator:" in result.stderr


def test_analyze_writes_reports_and_flags_a_splice(tmp_path: Path, shared_data: Path) -> None:
    casia = shared_data / "forgery" / "casia1"
    name = "Sp_Sp_D_CNN_A_pla0070_pla0073_0273"
    tampered, authentic = casia / f"{name}_tampered.png", casia / f"{name}_authentic.png"
    out = tmp_path / "out"
    result = run(
        "analyze", str(tampered), str(authentic), "--reference", str(authentic), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first.startswith("HIGH") and "SSIM" in first
    assert second.startswith("LOW") and "SSIM 1.000" in second
    folders = sorted(out.iterdir())
    assert len(folders) == 2
    report = json.loads((folders[0] / "forensic_report.json").read_text())
    assert report["detectors"]["reference"]["forged"] is True
    assert (folders[0] / "heatmaps" / "combined.png").exists()


def test_eval_forensics_json(tmp_path: Path, shared_data: Path) -> None:
    casia = shared_data / "forgery" / "casia1"
    data = tmp_path / "triples"
    data.mkdir()
    stems = sorted({p.name.rsplit("_", 1)[0] for p in casia.glob("*_mask.png")})[:4]
    for stem in stems:
        for role in ("tampered", "authentic", "mask"):
            shutil.copy(casia / f"{stem}_{role}.png", data / f"{stem}_{role}.png")
    result = run("eval", "forensics", "--data", str(data), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"auc", "pixel_f1", "reference"} <= set(report)
    assert "combined" in report["auc"]
    assert report["reference"]["recall"] == 1.0
    assert 0.0 <= report["reference"]["false_alarm_rate"] <= 1.0
