"""Training a tiny Llama on CPU on real records that passed ``dqe filter``."""

from __future__ import annotations

import importlib.util
import json
import os
import signal

import pytest

pytest.importorskip("torch", reason="needs the [train] extra: pip install torch==2.13.0 -e '.[train]'")

from dqe.errors import (
    GateRefused,  # noqa: E402
    TrainingInterrupted,  # noqa: E402
)
from dqe.train.run import train  # noqa: E402
from dqe.train.trainer import Hooks

pytestmark = [pytest.mark.train, pytest.mark.slow]


@pytest.fixture
def ok(filtered, rasbt):
    return filtered(rasbt[:160])


def test_loss_falls_and_the_adapter_reloads_and_merges(torch_extra, tmp_path, ok, config_for):
    torch = torch_extra
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run = train(
        config_for(ok, tmp_path / "run", max_steps=8, merge=True, **{"log.tensorboard": True}),
        echo=False,
    )
    m = run.manifest
    assert m["status"] == "completed" and m["training"]["steps"] == 8 and m["packing"] is True
    rows = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    val = [r["loss"] for r in rows if r["split"] == "val"]
    train_losses = [r["loss"] for r in rows if r["split"] == "train"]
    assert [r["step"] for r in rows if r["split"] == "val"] == [0, 3, 6, 8]
    assert val[-1] < val[0] - 0.1 and train_losses[-1] < train_losses[0] - 0.1
    assert m["losses"]["val_best"] == min(val) and m["losses"]["test"] < val[0]
    assert (run.run_dir / "metrics.csv").read_text().startswith("step,epoch,split,loss,lr,grad_norm,tokens")
    assert (run.run_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"
    if importlib.util.find_spec("tensorboard"):  # logged there only when it is installed
        assert any((run.run_dir / "tensorboard").iterdir())
    assert m["gate"]["verdict"] == "pass" and m["gate"]["forced"] is False and m["gate"]["problems"] == []
    assert (
        m["ledger"]["train"]["records"] + m["ledger"]["val"]["records"] + m["ledger"]["test"]["records"]
        == len(ok.read_text().splitlines())  # every record that passed the gate
    )
    assert {"torch", "transformers", "peft", "dqe", "python"} <= set(m["libraries"])
    assert m["base_model"]["model_type"] == "llama" and m["config"]["lora"]["r"] == 16
    assert m["config_sha256"] and m["gate"]["passed_ids_sha256"]

    # PeftModel.from_pretrained loads the adapter, and it equals the merged safetensors model.
    ids = torch.tensor([[1, 40, 41, 42, 43, 44]])
    base = AutoModelForCausalLM.from_pretrained(m["base_model"]["model"])
    with torch.no_grad():
        plain = base(ids).logits
        adapted = PeftModel.from_pretrained(base, str(run.run_dir / "adapter")).eval()(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(str(run.run_dir / "merged"))(ids).logits
    assert (run.run_dir / "merged" / "model.safetensors").exists()
    assert not torch.allclose(plain, adapted, atol=1e-3)
    assert torch.allclose(adapted, merged, atol=1e-4)


def test_packed_and_padded_batches_give_the_same_loss(torch_extra, tmp_path, ok, config_for, tokenizer):
    """Packing must not let records see each other: per-record losses are unchanged."""
    torch = torch_extra
    from dqe.engine.config import load_config
    from dqe.engine.encoding import TemplateEncoder, fit_length
    from dqe.engine.plugins import load_plugins
    from dqe.io.formats.base import Columns
    from dqe.train.batches import collate
    from dqe.train.data import read_examples
    from dqe.train.loss import chunked_cross_entropy
    from dqe.train.model import head_and_body, load_base_model

    registry = load_plugins()
    examples = read_examples(ok, load_config(None, discover=False), registry)[:12]
    encoder = TemplateEncoder(
        tokenizer,
        registry.templates["alpaca"],
        system=None,
        learn_all_turns=False,
        columns=Columns(),
    )
    items = [fit_length(e, 512, "truncate")[0] for e in encoder.encode([e.record for e in examples])]
    config = config_for(ok, tmp_path / "run")
    model = load_base_model(config, torch.device("cpu"), torch.float32).eval()
    body, head = head_and_body(model)

    def loss(batch):
        with torch.no_grad():
            out = body(**{k: v for k, v in batch.items() if k != "labels"}, use_cache=False).last_hidden_state
            return chunked_cross_entropy(out, batch["labels"], head)

    packed = loss(collate(items, [list(range(0, 6)), list(range(6, 12))], packed=True, pad_id=0))
    padded = loss(collate(items, [[i] for i in range(12)], packed=False, pad_id=0))
    one_by_one = sum(loss(collate(items, [[i]], packed=False, pad_id=0)) for i in range(12))
    leaky = collate(items, [list(range(0, 6)), list(range(6, 12))], packed=True, pad_id=0)
    del leaky["position_ids"]  # the same sequences without restarting positions: records see each other
    leak = (loss(leaky) - padded).abs()
    assert (packed - padded).abs() < leak / 100 and (packed - one_by_one).abs() < leak / 100


def test_a_canary_that_failed_a_rule_never_reaches_a_batch(
    torch_extra, tmp_path, filtered, rasbt, config_for, tokenizer
):
    canary_answer = "Zanzibar quokka marmalade xylophone canary."
    canary = {
        "instruction": "",
        "input": "",
        "output": canary_answer,
    }  # fails DQ001: empty instruction
    ok = filtered([*rasbt[:80], canary, *rasbt[80:120]])
    assert canary_answer not in ok.read_text()
    passed = [json.loads(line) for line in ok.read_text().splitlines()]
    with open(ok, "a") as f:  # someone slips it back into the passed file
        f.write(json.dumps(canary) + "\n")
    config = config_for(ok, tmp_path / "run", max_steps=None, epochs=1, **{"split.val": 0.0, "split.test": 0.0})
    with pytest.raises(GateRefused) as refused:
        train(config, echo=False)
    assert "changed since it was filtered" in refused.value.problems[0]

    rows = []  # every sequence of every batch of the epoch, as text of token ids
    run = train(
        config,
        force=True,
        echo=False,
        hooks=Hooks(on_batch=lambda b: rows.extend(b["input_ids"].tolist())),
    )
    seen = "|".join("," + ",".join(map(str, row)) + "," for row in rows)

    def reached(text: str) -> bool:
        return "," + ",".join(map(str, tokenizer(text, add_special_tokens=False)["input_ids"])) + "," in seen

    assert not reached(canary_answer)
    assert all(reached(r["output"]) for r in passed)  # the search works
    ledger = [json.loads(line) for line in (run.run_dir / "ledger.jsonl").read_text().splitlines()]
    assert [r["dropped"] for r in ledger if r["source"].endswith(":121")] == ["not-passed"]
    gate = run.manifest["gate"]
    assert gate["forced"] is True and len(gate["problems"]) == 2
    assert "1 records of" in gate["problems"][1] and "not among the gate manifest's passed ids" in gate["problems"][1]


@pytest.mark.parametrize("method", ["lora", "p-tuning", "prompt-tuning"])
def test_resume_after_ctrl_c_continues_exactly(torch_extra, tmp_path, ok, config_for, method):
    def losses_of(run_dir, resume=None, interrupt_at=None):
        losses = {}

        def on_step(state):
            losses[state.step] = state.last_loss
            if state.step == interrupt_at:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the run stops after this step

        train(config_for(ok, run_dir, method=method), resume=resume, echo=False, hooks=Hooks(on_step=on_step))
        return losses

    straight = losses_of(tmp_path / "straight")
    assert sorted(straight) == [1, 2, 3, 4, 5, 6]
    with pytest.raises(TrainingInterrupted) as stopped:
        losses_of(tmp_path / "stopped", interrupt_at=4)
    assert stopped.value.step == 4 and stopped.value.checkpoint.name == "step-000004"
    assert json.loads((tmp_path / "stopped" / "run.json").read_text())["status"] == "interrupted"
    resumed = losses_of(tmp_path / "stopped", resume=tmp_path / "stopped")
    assert resumed == {5: straight[5], 6: straight[6]}  # bit for bit
    steps = [json.loads(line)["step"] for line in (tmp_path / "stopped" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 3, 3, 4, 5, 6, 6]  # val at 0, 3, 6; no step logged twice


def test_early_stopping_keeps_the_best_adapter(torch_extra, tmp_path, ok, config_for):
    from safetensors.torch import load_file

    config = config_for(
        ok,
        tmp_path / "run",
        max_steps=30,
        epochs=10,
        **{"optim.lr": 0.5, "eval.every": 1, "eval.patience": 2},
    )
    run = train(config, echo=False)
    t = run.manifest["training"]
    assert t["stopped"] == "early-stopping" and t["steps"] < 30
    best = load_file(str(run.run_dir / "best" / "adapter_model.safetensors"))
    kept = load_file(str(run.run_dir / "adapter" / "adapter_model.safetensors"))
    assert best.keys() == kept.keys() and all((best[k] == kept[k]).all() for k in best)
    assert run.manifest["outputs"]["adapter_is"] == f"best validation (step {t['best_step']})"
    assert run.manifest["losses"]["val_final_adapter"] == pytest.approx(run.manifest["losses"]["val_best"], rel=1e-6)


def test_qlora_without_a_gpu_is_a_config_error(torch_extra, tmp_path, ok, config_for):
    from dqe.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a CUDA GPU and bitsandbytes"):
        train(config_for(ok, tmp_path / "run", method="qlora"), echo=False)
