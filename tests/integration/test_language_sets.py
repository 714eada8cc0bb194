"""Named language sets as a dry run shows them (the CLI: `xtui run SPEC --dry-run`); the planning itself is
tested in tests/unit/test_language_sets.py."""

from __future__ import annotations


def test_a_dry_run_shows_what_a_set_means_per_target(xtui, tmp_path):
    (tmp_path / "data" / "xnli" / "en").mkdir(parents=True)
    (tmp_path / "data" / "xnli" / "de").mkdir(parents=True)
    row = '{"premise": "A man sleeps.", "hypothesis": "A man rests.", "label": 0}\n'
    (tmp_path / "data" / "xnli" / "en" / "train.jsonl").write_text(row * 4)
    (tmp_path / "data" / "xnli" / "de" / "test.jsonl").write_text(row * 4)
    spec = tmp_path / "spec.toml"
    spec.write_text(f'name = "sets"\nmodel = "tiny"\ndata_dir = "{tmp_path / "data"}"\n'
                    '[target]\ntask = "xnli"\nlanguages = "xtreme-r"\nmax_steps = 1\n[fewshot]\nshots = [0]\n')
    done = xtui("run", spec, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "languages 'xtreme-r' of xnli: 15: en ar bg de el es fr hi ru sw th tr ur vi zh" in done.stdout
    assert "no test split, so 'xtreme-r' languages leaves them out" in done.stderr
