#!/usr/bin/env python3
"""Mutation check: plant known bugs one at a time in a copy of the repository and run the tests that should
catch each; a bug the tests miss ("survived") is a behaviour no test can see.

    python tools/mutation_check.py                     # every mutation; a summary and the score
    python tools/mutation_check.py --only inf-loss-passes --only kl-summed
    python tools/mutation_check.py --json mutation-report.json
    python tools/mutation_check.py --check             # only check that every mutation still applies (fast)

The working tree is never modified: src/, tests/ and what the tests read are copied into a temporary folder,
and pytest runs there with PYTHONPATH pointing at the copy's src/. When the code a mutation names has changed,
the run stops with "mutation no longer applies": update that entry's ``original`` (and ``replacement``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("src", "tests", "docs", "examples", "pyproject.toml", "README.md")
TIMEOUT_S = 900  # per mutation; the unmutated baseline (every guarding test) gets three times as long


@dataclass(frozen=True)
class Mutation:
    """One planted bug: in ``file``, the exact text ``original`` becomes ``replacement``; ``tests`` should fail."""

    id: str
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]


def M(id: str, file: str, original: str, replacement: str, *tests: str) -> Mutation:
    return Mutation(id, file, original, replacement, tests)


TRAINER, OBJECTIVES = "src/aezoo/core/trainer.py", "src/aezoo/core/objectives.py"
AUTOENCODER, EVALUATOR = "src/aezoo/core/autoencoder.py", "src/aezoo/core/evaluator.py"
POSTERIORS, LIKELIHOODS = "src/aezoo/core/posteriors.py", "src/aezoo/core/likelihoods.py"
STORE, FILES, EXPORT = "src/aezoo/registry/store.py", "src/aezoo/registry/files.py", "src/aezoo/registry/export.py"
HOUSEKEEPING, LOCK, RECORD = "src/aezoo/registry/housekeeping.py", "src/aezoo/registry/lock.py", "src/aezoo/registry/record.py"
MANAGER, SPECS = "src/aezoo/plugins/manager.py", "src/aezoo/plugins/specs.py"
CHECKS, VIEWS = "src/aezoo/core/checks.py", "src/aezoo/viz/views.py"
MODELS = "src/aezoo/models/"
TRAINING, CLI = "src/aezoo/api/train.py", "src/aezoo/cli.py"
PICKS, SPLITS = "src/aezoo/viz/picks.py", "src/aezoo/data/splits.py"
IDX, DATA_FILES = "src/aezoo/data/idx.py", "src/aezoo/data/files.py"
SHARE, BUILD, EVALUATE = "src/aezoo/api/share.py", "src/aezoo/api/build.py", "src/aezoo/api/evaluate.py"
CARD, TRAIN_CMD = "src/aezoo/registry/model_card.py", "src/aezoo/commands/train.py"
VIEWS, DRAW, FIGURE = "src/aezoo/viz/views.py", "src/aezoo/viz/draw.py", "src/aezoo/viz/figure.py"
SIDE_BY_SIDE, DIAGNOSIS = "src/aezoo/viz/side_by_side.py", "src/aezoo/core/diagnosis.py"
OPTIONS = "src/aezoo/commands/options.py"
GUMBEL, MAF, TWO_STAGE = "src/aezoo/models/gumbel_vae.py", "src/aezoo/core/maf.py", "src/aezoo/core/two_stage.py"
CODE_FIT = "src/aezoo/core/code_fit.py"
GUMBEL_TESTS, FSQ_TESTS = "tests/models/test_gumbel_vae.py", "tests/models/test_fsq_vae.py"
CONDITIONAL_NETS, CVAE_TESTS = "src/aezoo/nets/conditional.py", "tests/models/test_cvae.py"
SAMPLER_TESTS = "tests/core/test_code_samplers.py"

MUTATIONS: list[Mutation] = [
    # ---- core: trainer ---------------------------------------------------------------------------------------
    M("ddp-weights-not-synced", TRAINER, "if self.world > 1 and (changed or step.step == 0):", "if False:",
      "tests/core/test_distributed.py::test_every_process_ends_with_the_same_weights"),
    M("grad-scaler-not-resumed", TRAINER, "if self.scaler is not None and state.scaler:", "if False:",
      "tests/core/test_trainer_fast_path.py::test_a_resume_continues_at_the_loss_scale_the_grad_scaler_had"),
    M("inf-loss-passes", TRAINER, "if not math.isfinite(v)]", "if math.isnan(v)]",
      "tests/core/test_trainer_behaviour.py::test_an_infinite_loss_stops_training_naming_the_batch_and_saves_nothing"),
    M("nan-loss-passes", TRAINER, "if not math.isfinite(v)]", "if False]",
      "tests/api/test_training.py::test_nan_loss_stops_with_epoch_and_batch_and_saves_nothing"),
    M("best-weights-not-restored", TRAINER, "if cfg.restore_best and state.best_weights is not None:",
      "if False:", "tests/core/test_trainer_behaviour.py::test_the_best_validation_epochs_weights_are_kept_not_the_last"),
    M("schedule-ignored", TRAINER,
      "scheduled_lr(1.0, cfg.schedule, done, fit.total))", "1.0)",
      "tests/api/test_training.py::test_cosine_schedule_decays_the_learning_rate_to_zero"),
    M("bf16-ignored", TRAINER, "if dtype else nullcontext", "if False else nullcontext",
      "tests/api/test_training.py::test_bf16_mixed_precision_trains_on_cpu"),
    M("second-ctrl-c-ignored", TRAINER, "if flag[0]:  # a second Ctrl-C stops at once", "if False:",
      "tests/core/test_trainer_behaviour.py::test_a_second_ctrl_c_stops_at_once"),
    M("ctrl-c-ignored", TRAINER, "        flag[0] = True\n", "        pass\n",
      "tests/api/test_training.py::test_resume_after_ctrl_c_mid_epoch_reaches_the_same_weights"),
    M("patience-off-by-one", TRAINER, "state.epoch - state.best_epoch >= cfg.patience",
      "state.epoch - state.best_epoch > cfg.patience",
      "tests/api/test_training.py::test_early_stopping_after_patience_epochs_without_improvement"),
    M("resume-forgets-rng", TRAINER, "        torch.set_rng_state(state.rng_state)\n", "",
      "tests/api/test_training.py::test_resume_after_ctrl_c_mid_epoch_reaches_the_same_weights"),
    M("epoch-order-ignores-seed", TRAINER, "shuffle.manual_seed(cfg.seed + state.epoch)",
      "shuffle.manual_seed(state.epoch)",
      "tests/core/test_trainer_behaviour.py::test_the_seed_sets_the_order_of_the_batches"),
    # ---- core: objectives, autoencoder, evaluator ----------------------------------------------------------
    M("kl-summed", OBJECTIVES, "kl = kl_to_prior(out.q, model.prior, out.z).mean()",
      "kl = kl_to_prior(out.q, model.prior, out.z).sum()",
      "tests/core/test_identities.py::test_the_kl_term_is_the_mean_over_the_batch_of_each_images_kl"),
    M("kl-sign", "src/aezoo/core/priors.py", "return -0.5 * (1 + logvar", "return 0.5 * (1 + logvar", "tests/core/test_objectives.py"),
    M("beta-ignored", OBJECTIVES, "return rec + self.beta * step.ramp(self.warmup) * kl", "return rec + step.ramp(self.warmup) * kl",
      "tests/models/test_builtin_models.py::test_beta_vae_defaults_to_beta_4_and_vae_to_1"),
    M("gaussian-likelihood-on-logits", LIKELIHOODS, "F.mse_loss(torch.sigmoid(logits), x, reduction=\"sum\")",
      "F.mse_loss(logits, x, reduction=\"sum\")", "tests/core/test_objectives.py"),
    M("restoration-scored-against-corrupted", AUTOENCODER, "return self.objective(self, Batch(x, inputs, y)",
      "return self.objective(self, Batch(inputs, inputs, y)",
      "tests/core/test_identities.py::test_restoring_models_are_scored_against_the_clean_images"),
    M("corruption-at-eval", AUTOENCODER, "if (self.training and self.corruption is not None)",
      "if (self.corruption is not None)",
      "tests/models/test_builtin_models.py::test_denoising_and_inpainting_corrupt_only_while_training"),
    M("reparameterise-std-is-var", POSTERIORS, "return (0.5 * self.logvar).exp()",
      "return self.logvar.exp()",
      "tests/core/test_identities.py::test_training_draws_codes_from_the_posterior"),
    M("iw-ignores-posterior-variance", POSTERIORS, "return self.distribution().log_prob(z)",
      "return Independent(Normal(self.mu, torch.ones_like(self.std)), 1).log_prob(z)",
      "tests/core/test_identities.py::test_importance_weights_use_the_posterior_variance"),
    M("evaluation-in-train-mode", EVALUATOR, "    was_training = model.training\n    model.eval()\n",
      "    was_training = model.training\n",
      "tests/core/test_identities.py::test_evaluation_and_generation_run_the_model_in_eval_mode"),
    M("psnr-of-sum", EVALUATOR, "mse = (reconstruction - target).pow(2).flatten(1).mean(1)",
      "mse = (reconstruction - target).pow(2).flatten(1).sum(1)",
      "tests/core/test_evaluator.py::test_psnr_of_constant_error"),
    M("pair-kl-ignored", OBJECTIVES, "        if hook is not None:\n            kl = hook(other, z)",
      "        if False:\n            kl = hook(other, z)",
      "tests/core/test_kl_and_kinds.py::test_a_q_objects_own_kl_comes_before_torch_distributions",
      "tests/core/test_kl_and_kinds.py::test_a_priors_closed_form_kl_is_used_by_the_elbo_and_by_the_evaluator"),
    M("level-kl-ignored", OBJECTIVES, "    if hasattr(q, \"kl_per_level\"):\n", "    if False:\n",
      "tests/core/test_kl_and_kinds.py::test_per_level_kl_sums_to_the_kl_in_evaluation_and_training"),
    M("elbo-samples-ignored", EVALUATOR, "z = q.sample(self.elbo_samples, generator)", "z = q.sample(1, generator)",
      "tests/core/test_kl_and_kinds.py::test_the_elbo_averages_elbo_samples_draws_per_image"),
    M("posterior-kind-unchecked", AUTOENCODER, "        check_kind(posterior)\n", "",
      "tests/core/test_kl_and_kinds.py::test_a_posterior_must_declare_one_of_the_kinds"),
    M("traverse-kl-by-duck-type", VIEWS, "by_kl = kind.per_dim_kl and isinstance(model.prior, StandardNormal)",
      "by_kl = hasattr(model.infer(x[:1]), \"logvar\") and isinstance(model.prior, StandardNormal)",
      "tests/core/test_kl_and_kinds.py::test_figures_name_the_codes_by_the_declared_kind_and_never_rank_a_non_gaussian_by_kl"),
    M("traverse-sweeps-every-level", VIEWS, "    if levels:\n        codes = codes[:, :int(levels[0])]\n", "",
      "tests/core/test_kl_and_kinds.py::test_traversals_of_a_hierarchical_model_sweep_the_level_the_decoder_reads"),
    M("labels-never-reach-the-model", TRAINER, "return y.to(self.device, non_blocking=True) if self.conditional else None",
      "return None", "tests/core/test_labels.py::test_the_trainer_hands_each_batch_its_own_labels_and_none_to_a_model_that_reads_none"),
    M("labels-copied-for-every-model", TRAINER, "return y.to(self.device, non_blocking=True) if self.conditional else None",
      "return y.to(self.device, non_blocking=True) if y is not None else None",
      "tests/core/test_labels.py::test_the_trainer_hands_each_batch_its_own_labels_and_none_to_a_model_that_reads_none"),
    M("elbo-drops-labels", OBJECTIVES, "        out = model(batch.inputs, batch.y)\n        rec = model.likelihood.nll(out.logits, batch.x)\n        kl",
      "        out = model(batch.inputs)\n        rec = model.likelihood.nll(out.logits, batch.x)\n        kl",
      "tests/core/test_labels.py::test_zoo_generate_label_conditions_a_conditional_model_through_its_inputs"),
    M("generate-label-by-class-gaussian", VIEWS, "    if model.conditional:\n        sampler = model.sampler",
      "    if False:\n        sampler = model.sampler",
      "tests/core/test_labels.py::test_zoo_generate_label_conditions_a_conditional_model_through_its_inputs"),
    M("unlabelled-data-accepted", TRAINER, "        require_labels(model, splits.train.labels", "        (model, splits.train.labels",
      "tests/core/test_labels.py::test_a_conditional_model_on_unlabelled_data_fails_in_one_line"),
    # ---- training wiring and CLI -----------------------------------------------------------------------------
    M("resume-unknown-key-accepted", TRAINING, "if key not in known:", "if False:",
      "tests/api/test_guards.py::test_resume_from_python_with_an_unknown_key_is_refused_the_same_way"),
    M("resume-unknown-key-checked-late", "src/aezoo/api/checks.py", "if key not in known:", "if False:",
      "tests/api/test_guards.py::test_resume_with_an_unknown_key_lists_the_checkpoints_and_creates_nothing",
      "tests/cli/test_early_errors.py::test_the_error_comes_before_torch_is_imported"),
    M("corrupt-checkpoint-traceback", TRAINING, "    except Exception as exc:  # anything a damaged or foreign file",
      "    except ImportError as exc:  # anything a damaged or foreign file",
      "tests/api/test_guards.py::test_resume_from_a_corrupt_checkpoint_is_a_one_line_error"),
    M("crash-handler-dead", TRAINING, "_fail(registry, key, \"training stopped\", exc)", "None",
      "tests/core/test_trainer_behaviour.py::test_a_crash_before_the_first_checkpoint_leaves_no_folder",
      "tests/core/test_trainer_behaviour.py::test_a_crash_after_a_checkpoint_offers_resume_and_the_resume_finishes",
      "tests/core/test_trainer_behaviour.py::test_zoo_train_tells_in_one_line_how_to_resume_after_a_crash"),
    M("crash-resume-hint-not-one-line", TRAINING, "(AezooError, ValueError, OSError)):  # what the CLI",
      "(AezooError, OSError)):  # what the CLI",
      "tests/core/test_trainer_behaviour.py::test_zoo_train_tells_in_one_line_how_to_resume_after_a_crash"),
    M("zoo-train-keeps-malloc-default", "src/aezoo/commands/train.py", "    keep_freed_memory()  # this process",
      "    pass  # this process",
      "tests/core/test_trainer_fast_path.py::test_aezoo_train_leaves_the_allocator_alone_and_zoo_train_tunes_it"),
    M("every-rank-prints-errors", CLI, "if os.environ.get(\"RANK\", \"0\") != \"0\":", "if False:",
      "tests/api/test_guards.py::test_under_torchrun_only_rank_0_prints_a_user_error"),
    M("user-errors-as-tracebacks", CLI, "except (AezooError, ValueError, OSError) as exc:",
      "except (ValueError, OSError) as exc:",
      "tests/api/test_training.py::test_unknown_model_and_bad_options_are_one_line_errors"),
    M("zoo-runs-imports-torch", "src/aezoo/commands/runs.py",
      "    from aezoo.registry import Registry\n\n    registry = Registry(home)\n    records",
      "    from aezoo.registry import Registry\n    import torch  # noqa: F401\n\n    registry = Registry(home)\n"
      "    records", "tests/api/test_guards.py::test_zoo_runs_does_not_import_torch"),
    M("classifier-cache-ignores-labels", "src/aezoo/api/classifier.py",
      "    h.update(split.labels.numpy().astype(np.int64).tobytes())\n", "",
      "tests/api/test_guards.py::test_classifier_cache_trains_again_when_only_the_labels_change"),
    M("cifar10-reshaped-not-transposed", "src/aezoo/data/torchvision_sources.py", ".transpose(0, 3, 1, 2))",
      ".reshape(-1, 3, 32, 32))", "tests/api/test_guards.py::test_cifar10_channels_are_the_colour_planes"),
    M("dynamic-binarize-ignored", TRAINER, "x = torch.bernoulli(x) if self.config.binarize == \"dynamic\" else x",
      "x = x", "tests/core/test_binarize.py::test_dynamic_binarisation_draws_the_training_images_anew_each_epoch_and_validates_on_one_draw"),
    M("static-binarize-ignored", TRAINER, "train, val = binarized(train) if cfg.binarize == \"static\" else train, binarized(val)",
      "train, val = train, binarized(val)", "tests/core/test_binarize.py::test_static_binarisation_draws_once_with_a_fixed_seed"),
    M("eval-ignores-run-binarization", "src/aezoo/api/evaluate.py",
      "how = run_binarization(model) if binarize is None else binarize", "how = \"none\" if binarize is None else binarize",
      "tests/cli/test_paper_settings.py::test_a_binarised_run_records_it_and_zoo_eval_binarises_alike_by_default"),
    M("formats-md-names-unwritten-keys", "docs/formats.md", "`test_input_bits`, `test_code_bits`, `test_compression_ratio`",
      "`test_input_bytes`, `test_latent_bytes`, `test_compression_ratio`",
      "tests/project/test_docs_metrics.py::test_formats_md_names_exactly_the_metric_keys_zoo_eval_writes"),
    M("command-loads-before-checking", "src/aezoo/commands/options.py", "            check(**params)\n", "",
      "tests/cli/test_early_errors.py::test_the_error_comes_before_torch_is_imported"),
    M("train-dataset-checked-after-torch", "src/aezoo/commands/train.py", '    check_dataset(options["dataset"])  #',
      "    pass  #", "tests/cli/test_early_errors.py::test_the_error_comes_before_torch_is_imported"),
    M("threads-not-recorded", TRAINING, 'metrics["threads"] = result.threads', "pass",
      "tests/core/test_threads.py::test_the_run_records_the_thread_count_it_trained_with"),
    # ---- thread policy ---------------------------------------------------------------------------------------
    M("threads-slowest-kept", "src/aezoo/core/runtime/threads.py", "best = min(c for c, m in medians.items() if m <= fastest * (1 + self.TIE))",
      "best = max(medians, key=medians.get)",
      "tests/core/test_threads.py::test_the_tuner_keeps_the_count_that_timed_fastest"),
    M("threads-never-rechecked", "src/aezoo/core/runtime/threads.py", "self.next_trial = self.clock() + self.recheck",
      "self.next_trial = math.inf", "tests/core/test_threads.py::test_the_tuner_checks_again_later_and_follows_a_change_of_load"),
    M("threads-env-ignored", "src/aezoo/core/runtime/threads.py", "    for var in ENV_VARS:\n", "    for var in ():\n",
      "tests/core/test_threads.py::test_the_users_count_wins_in_order_threads_env_then_torch"),
    M("threads-quota-ignored", "src/aezoo/core/runtime/threads.py", "math.floor(quota) if quota is not None else affinity", "affinity",
      "tests/core/test_threads.py::test_usable_cpus_are_the_affinity_mask_bounded_by_the_quota"),
    M("threads-option-ignored", "src/aezoo/commands/options.py", "            with cpu_threads(threads):",
      "            with cpu_threads(None):", "tests/core/test_threads.py::test_commands_run_at_the_count_given_with_threads"),
    M("closed-form-kl-for-any-gaussian", "src/aezoo/core/priors.py", "if type(q) is GaussianQ else None",
      "if isinstance(q, GaussianQ) else None",
      "tests/core/test_objectives.py::test_the_standard_normals_closed_form_kl_is_torch_distributions_kl"),
    M("threads-not-restored", "src/aezoo/core/runtime/threads.py", "                self.set_threads(self.restore)\n", "                pass\n",
      "tests/core/test_threads.py::test_the_tuner_keeps_the_count_that_timed_fastest"),
    # ---- registry --------------------------------------------------------------------------------------------
    M("load-skips-sha256", "src/aezoo/api/build.py", "lambda: registry.load_state(record)",
      "lambda: __import__(\"safetensors.torch\", fromlist=[\"x\"]).load_file(str(record.weights_path))",
      "tests/api/test_guards.py::test_aezoo_load_refuses_weights_that_do_not_match_their_hash",
      "tests/api/test_guards.py::test_zoo_commands_refuse_weights_that_do_not_match_their_hash"),
    M("load-state-skips-sha256", STORE,
      "return read_safetensors(run_dir / paths.WEIGHTS, entry[\"sha256\"], entry.get(\"bytes\"))",
      "return read_safetensors(run_dir / paths.WEIGHTS)",
      "tests/registry/test_registry.py::test_damaged_weights_raise_registry_error_naming_the_file"),
    M("save-publishes-file-by-file", STORE,
      "stage = Path(tempfile.mkdtemp(prefix=f\"{run_id}.{process_tag()}.\", dir=staging_root))", "stage = target",
      "tests/registry/test_atomic_writes.py::test_a_reader_never_sees_a_half_published_run"),
    M("atomic-write-in-place", FILES, "    with replacing(path) as tmp, open(tmp, \"wb\") as f:",
      "    with open(path, \"wb\") as f:",
      "tests/registry/test_atomic_writes.py"),
    M("version-reused-after-delete", HOUSEKEEPING,  # the emptied run folder (the tombstone) is removed, not kept
      "    (run_dir / paths.DELETING).unlink(missing_ok=True)\n    fsync_dir(run_dir)\n",
      "    (run_dir / paths.DELETING).unlink(missing_ok=True)\n    run_dir.rmdir()\n",
      "tests/registry/test_registry.py::test_latest_moves_on_save_and_delete"),
    M("delete-keeps-aliases", STORE, "if read_alias(alias_file) == version:", "if False:",
      "tests/registry/test_registry.py::test_user_tags_resolve_move_and_go_away_with_their_run"),
    M("metrics-update-keeps-old-hash", STORE,
      "            manifest[\"files\"].pop(paths.METRICS, None)  # older runs", "            # older runs",
      "tests/registry/test_registry.py::test_update_metrics_merges_and_keeps_manifest_valid",
      "tests/registry/test_atomic_writes.py::test_a_metrics_update_on_a_run_of_the_older_format_keeps_it_verifiable"),
    M("bad-run-names-accepted", "src/aezoo/registry/refs.py",
      "raise RegistryError(f\"invalid {kind} {value!r}: use {NAME_RULE}\")",
      "pass", "tests/registry/test_registry.py::test_bad_run_alias_model_and_checkpoint_names_are_refused"),
    M("export-manifest-hashes-skipped", EXPORT, "        _check_file(root / name, entry[\"sha256\"], entry[\"bytes\"])\n",
      "        pass\n", "tests/api/test_guards.py::test_export_with_an_edited_side_file_is_refused"),
    M("export-newer-format-accepted", EXPORT, "if version > EXPORT_FORMAT_VERSION:", "if False:",
      "tests/api/test_guards.py::test_export_of_a_newer_format_is_refused_asking_for_an_upgrade"),
    M("export-without-weights-accepted", EXPORT, "        if name not in files:\n", "        if False:\n",
      "tests/api/test_guards.py::test_export_whose_manifest_omits_the_weights_is_refused"),
    M("export-path-escape-accepted", EXPORT, "if Path(name).name != name or name in (\".\", \"..\", paths.MANIFEST):",
      "if name == paths.MANIFEST:",
      "tests/api/test_guards.py::test_export_manifest_naming_a_file_outside_the_folder_is_refused"),
    M("export-config-weights-hash-unchecked", EXPORT,
      "if config[\"weights\"][\"sha256\"] != files[paths.WEIGHTS][\"sha256\"]:", "if False:",
      "tests/registry/test_export.py::test_tampered_export_is_refused_by_load_and_import"),
    # ---- registry: overlapping people and processes, damaged runs, full disks (issue 18) -------------------
    M("rm-deletes-what-the-ref-names-now", STORE, "if expect is not None and f\"{model}-{version}\" != expect:",
      "if False:", "tests/registry/test_overlaps.py::test_delete_with_an_expected_id_refuses_a_reference_that_moved",
      "tests/registry/test_overlaps.py::test_rm_refuses_when_a_run_saved_during_the_prompt_changes_what_the_reference_names"),
    M("manifest-types-unchecked", RECORD, "    problem = _manifest_problem(manifest, run_dir)\n",
      "    problem = None\n", "tests/registry/test_faults.py::test_a_damaged_run_is_listed_apart_and_can_be_removed"),
    M("config-types-unchecked", RECORD, "    for key, ok, kind in checks:\n        if not ok:",
      "    for key, ok, kind in checks:\n        if False:",
      "tests/registry/test_faults.py::test_a_damaged_run_is_listed_apart_and_can_be_removed"),
    M("run-name-as-run-id-accepted", "src/aezoo/registry/refs.py", "    if _RUN_ID.fullmatch(name):\n", "    if False:\n",
      "tests/registry/test_overlaps.py::test_run_names_that_read_as_run_ids_or_models_are_refused"),
    M("run-name-as-model-accepted", "src/aezoo/registry/refs.py", "    if name in set(models):\n", "    if False:\n",
      "tests/registry/test_overlaps.py::test_run_names_that_read_as_run_ids_or_models_are_refused"),
    M("gc-removes-live-staging", HOUSEKEEPING, "if alive is False or (alive is None and old(entry)):",
      "if alive is False or old(entry):",
      "tests/registry/test_overlaps.py::test_gc_with_older_than_zero_during_a_save_leaves_the_staging_folder_alone"),
    M("gc-removes-live-reservation", HOUSEKEEPING, " and f\"{model_dir.name}-{run_dir.name}\" not in reserved:", ":",
      "tests/registry/test_overlaps.py::test_gc_keeps_the_version_folder_a_live_save_reserved"),
    M("gc-trusts-a-reused-pid", LOCK, "return not start or int(start) == 0 or now is None or now == int(start)",
      "return True", "tests/registry/test_overlaps.py::test_gc_keeps_an_old_staging_folder_of_a_live_process_and_removes_one_of_a_reused_pid"),
    M("gc-removes-claimed-checkpoint", HOUSEKEEPING, "and old(folder) and holder(folder / paths.OWNER) is None:",
      "and old(folder):", "tests/registry/test_overlaps.py::test_gc_keeps_an_empty_checkpoint_folder_while_its_training_runs"),
    M("checkpoint-claimed-twice", LOCK, "if fcntl is not None and not _try_lock(self._file, tries=20):",
      "if False:", "tests/registry/test_overlaps.py::test_a_checkpoint_is_claimed_by_one_process_at_a_time"),
    M("checkpoint-saved-twice", STORE, "                    self._check_checkpoint_unsaved(checkpoint_key, snap)\n",
      "                    pass\n", "tests/registry/test_overlaps.py::test_a_second_save_of_one_checkpoint_is_refused_under_the_lock"),
    M("resume-unclaimed", TRAINING, "        held.enter_context(registry.claim_checkpoint(key, \"resuming\"))\n",
      "        pass\n",
      "tests/registry/test_overlaps.py::test_a_second_resume_while_one_is_stalled_before_its_save_is_refused"),
    M("training-folder-unclaimed", TRAINING,
      "directory = held.enter_context(registry.claim_checkpoint(key, \"training\")).folder",
      "directory = registry.checkpoint_dir(key)",
      "tests/registry/test_overlaps.py::test_gc_during_the_first_epoch_of_a_training_leaves_its_checkpoint_folder"),
    M("train-name-checked-after-training", TRAINING, "registry.check_run_name(name, tuple(catalog().models))",
      "None", "tests/registry/test_overlaps.py::test_train_refuses_such_a_name_before_training"),
    M("lock-wait-silent", LOCK, "    notice(f\"waiting for", "    (lambda text: None)(f\"waiting for",
      "tests/registry/test_overlaps.py::test_a_command_waiting_for_the_lock_says_who_holds_it"),
    M("dangling-home-file-exists", FILES, "if part.is_symlink() and not part.exists():", "if False:",
      "tests/registry/test_overlaps.py::test_a_dangling_home_link_is_one_clear_line"),
    M("stale-export-stages-kept", EXPORT, "    remove_stale_stages(target.parent)\n", "",
      "tests/registry/test_overlaps.py::test_an_export_killed_midway_leaves_a_temp_folder_that_the_next_export_cleans"),
    M("page-written-in-place", "src/aezoo/viz/html.py", "atomic_write_bytes(path, text.encode(\"utf-8\"))",
      "Path(path).write_bytes(text.encode(\"utf-8\"))",
      "tests/cli/test_full_disk_outputs.py::test_a_report_on_a_full_disk_keeps_the_previous_page"),
    M("figure-written-in-place", "src/aezoo/viz/figure.py", "atomic_write_bytes(path, self.png(dpi))",
      "Path(path).write_bytes(self.png(dpi))",
      "tests/cli/test_full_disk_outputs.py::test_a_figure_on_a_full_disk_keeps_the_previous_png"),
    # ---- plugin loader ---------------------------------------------------------------------------------------
    M("qualified-names-missing", MANAGER, "            catalog.qualified[spec.qualified] = spec\n", "            pass\n",
      "tests/plugins/test_qualified_names.py::test_plain_names_reach_the_builtin_and_qualified_names_reach_each"),
    M("no-shadow-warning-at-train", TRAINING, "        shadow_warning(model)\n", "",
      "tests/plugins/test_qualified_names.py::test_zoo_train_warns_when_a_plain_name_shadows_a_plugins_model"),
    M("runs-rebuilt-by-plain-name", "src/aezoo/api/build.py",
      "    recorded, plugin = config.get(\"qualified_model\"), config.get(\"plugin\")\n", "    return model\n",
      "tests/plugins/test_qualified_names.py::test_a_run_loads_its_own_model_after_another_plugin_takes_the_plain_name"),
    M("shadowed-runs-mixed-with-plain", TRAINING,
      "return registration.name if catalog().models.get(registration.name) is registration else registration.qualified",
      "return registration.name",
      "tests/plugins/test_qualified_names.py::test_a_shadowed_plugin_model_trains_saves_and_loads_by_its_qualified_name"),
    M("qualified-ref-not-normalised", STORE, "return resolve(snap, storage_name(ref), str(self.home), allow_damaged)",
      "return resolve(snap, ref, str(self.home), allow_damaged)",
      "tests/plugins/test_qualified_names.py::test_a_shadowed_plugin_model_trains_saves_and_loads_by_its_qualified_name"),
    M("plugin-import-errors-only", MANAGER,  # only an ImportError while loading is recorded; others escape
      "    except BaseException as exc:  # noqa: BLE001  a broken plugin must not break the others\n",
      "    except BaseException as exc:  # noqa: BLE001\n"
      "        if what == \"could not load\" and not isinstance(exc, ImportError):\n            raise\n",
      "tests/api/test_guards.py::test_a_plugin_failing_to_import_in_any_way_is_reported_and_the_rest_load"),
    M("plugin-hook-errors-escape", MANAGER,  # only an ImportError in a hook is recorded; others escape
      "    except BaseException as exc:  # noqa: BLE001  a broken plugin must not break the others\n",
      "    except BaseException as exc:  # noqa: BLE001\n"
      "        if what != \"could not load\" and not isinstance(exc, ImportError):\n            raise\n",
      "tests/plugins/test_loading.py::test_plugin_that_raises_is_reported_and_builtins_still_list"),
    M("plugin-half-registration-kept", MANAGER,  # a hook that raised keeps what it registered before raising
      "    if not _guarded(info, f\"{hook_name} failed\", run_hooks)[0]:\n        return\n",
      "    _guarded(info, f\"{hook_name} failed\", run_hooks)\n",
      "tests/plugins/test_loading.py::test_plugin_that_raises_is_reported_and_builtins_still_list"),
    M("plugin-duplicate-replaces", MANAGER, "        if spec.name in table:\n", "        if False:\n",
      "tests/plugins/test_loading.py::test_duplicate_name_is_refused_and_both_sources_named"),
    M("plugin-api-version-unchecked", MANAGER, "if wanted in hookspecs.SUPPORTED_PLUGIN_APIS:", "if True:",
      "tests/plugins/test_loading.py::test_plugin_for_another_api_version_is_refused",
      "tests/plugins/test_api_versions.py::test_a_plugin_declaring_api_1_is_refused_with_one_line_naming_the_porting_section"),
    M("api-1-refused-without-the-porting-table", MANAGER, "    if wanted == 1:\n", "    if False:\n",
      "tests/plugins/test_api_versions.py::test_a_plugin_declaring_api_1_is_refused_with_one_line_naming_the_porting_section"),
    M("objective-signature-unchecked", AUTOENCODER, "        check_objective(objective)\n", "",
      "tests/plugins/test_api_versions.py::test_an_objective_not_taking_model_batch_step_is_refused_when_the_model_is_built"),
    M("plugin-allowlist-ignored", MANAGER, "return only is None or name == BUILTIN", "return True or name == BUILTIN",
      "tests/plugins/test_loading.py::test_load_plugins_allowlist_picks_installed_plugins"),
    M("dataset-hook-not-called", MANAGER, "    _collect(catalog, info, \"register_datasets\", \"dataset\")\n", "",
      "tests/plugins/test_hooks.py"),
    M("registration-checks-skipped", SPECS, "            if self.checks is not None:\n",
      "            if False:\n",
      "tests/plugins/test_builtin_table.py::test_zoo_train_refuses_a_bad_name_key_or_value_without_importing_a_model_module_or_torch",
      "tests/plugins/test_builtin_table.py::test_a_bad_value_is_refused_by_the_registration_naming_key_value_and_expectation"),
    M("beta-rule-missing", CHECKS, "    \"beta\": weight, ", "    ",
      "tests/plugins/test_builtin_table.py::test_a_bad_value_is_refused_by_the_registration_naming_key_value_and_expectation"),
    M("elbo-beta-unchecked", OBJECTIVES, "self.beta, self.warmup = weight(\"beta\", beta), count(\"warmup\", warmup)",
      "self.beta, self.warmup = float(beta), count(\"warmup\", warmup)",
      "tests/plugins/test_builtin_table.py::test_the_build_refuses_the_same_value_in_the_same_words"),
    M("unknown-hyperparameters-accepted", SPECS, "        if unknown:\n            raise BadHyperparameterError(",
      "        if False:\n            raise BadHyperparameterError(",
      "tests/models/test_builtin_models.py::test_unknown_hyperparameter_lists_the_valid_ones"),
    # ---- families of issue 19: tighter bounds, covariance and capacity, SW, MS-SSIM, VAE/GAN ------------------
    M("miwae-weights-normalised-over-m", MODELS + "miwae.py", "t.unflatten(0, (m, -1)).transpose(0, 1) for t",
      "t.unflatten(0, (m, -1)) for t",  # pythae's axis: K averaged IWAE_M bounds
      "tests/models/test_miwae.py::test_loss_is_minus_the_mean_of_m_k_sample_bounds_on_a_fixed_batch"),
    M("piwae-encoder-also-on-iwae", MODELS + "piwae.py", "model.decoder(z.detach().flatten(0, 1))",
      "model.decoder(z.flatten(0, 1))",  # pythae's coupled trainer: the encoder steps on MIWAE + IWAE
      "tests/models/test_piwae.py::test_each_network_gets_the_gradient_of_its_own_bound_only"),
    M("piwae-decoder-also-on-miwae", MODELS + "piwae.py", "frozen(model.decoder, z.flatten(0, 1))",
      "model.decoder(z.flatten(0, 1))",
      "tests/models/test_piwae.py::test_each_network_gets_the_gradient_of_its_own_bound_only"),
    M("ciwae-beta-swapped", MODELS + "ciwae.py", "self.beta * neg_elbo + (1 - self.beta) * neg_iw",
      "(1 - self.beta) * neg_elbo + self.beta * neg_iw",
      "tests/models/test_ciwae.py::test_loss_mixes_the_elbo_and_the_iwae_bound_of_the_same_draws"),
    M("dip-ii-without-variances", MODELS + "dip_vae.py", "    if dip_type == \"ii\":\n", "    if False:\n",
      "tests/models/test_dip_vae.py::test_loss_matches_an_independent_computation_on_a_fixed_batch"),
    M("dip-unbiased-covariance", MODELS + "dip_vae.py", "torch.cov(mu.T, correction=0)", "torch.cov(mu.T)",
      "tests/models/test_dip_vae.py::test_loss_matches_an_independent_computation_on_a_fixed_batch"),
    M("capacity-abs-of-the-batch-mean", MODELS + "capacity_vae.py", "(kl - c).abs().mean()", "(kl.mean() - c).abs()",
      "tests/models/test_capacity_vae.py::test_loss_takes_the_absolute_difference_per_image_on_a_fixed_batch"),
    M("capacity-not-annealed", MODELS + "capacity_vae.py", "return self.capacity * step.ramp(self.capacity_steps)",
      "return self.capacity", "tests/models/test_capacity_vae.py::test_capacity_rises_linearly_to_its_maximum_then_stays"),
    M("swae-directions-not-unit", MODELS + "swae.py", "return F.normalize(draws, dim=-1)", "return draws",
      "tests/models/test_swae.py::test_loss_matches_an_independent_computation_on_a_fixed_batch"),
    M("swae-projections-unsorted", MODELS + "swae.py",
      "pa, pb = (a @ directions.T).sort(0).values, (b @ directions.T).sort(0).values",
      "pa, pb = a @ directions.T, b @ directions.T",
      "tests/models/test_swae.py::test_the_distance_of_a_sample_to_its_own_permutation_is_zero"),
    M("msssim-weights-not-renormalised", MODELS + "msssim_vae.py", "return tuple(w / sum(head) for w in head)",
      "return head", "tests/models/test_msssim_vae.py::test_ms_ssim_matches_an_independent_computation"),
    M("msssim-cs-at-the-last-scale", MODELS + "msssim_vae.py", "(ssim if last else cs)", "cs",
      "tests/models/test_msssim_vae.py::test_one_scale_is_ssim_with_a_gaussian_window_over_valid_positions"),
    M("msssim-in-bfloat16", MODELS + "msssim_vae.py", "with torch.autocast(a.device.type, enabled=False):",
      "with torch.autocast(a.device.type, enabled=True):",
      "tests/models/test_msssim_vae.py::test_ms_ssim_stays_in_float32_under_bfloat16_autocast"),
    M("dip-covariance-in-bfloat16", MODELS + "dip_vae.py", "with torch.autocast(mu.device.type, enabled=False):",
      "with torch.autocast(mu.device.type, enabled=True):",
      "tests/models/test_dip_vae.py::test_the_covariance_stays_in_float32_under_bfloat16_autocast"),
    M("vae-gan-gan-reaches-the-encoder", MODELS + "vae_gan.py", "torch.cat([z, z.detach(), prior_z])",
      "torch.cat([z, z, prior_z])",
      "tests/models/test_vae_gan.py::test_each_loss_trains_only_the_networks_the_paper_names"),
    M("vae-gan-features-train-the-discriminator", MODELS + "vae_gan.py",
      "_, features = frozen(discriminator, torch.cat([batch.x, recon]))",
      "_, features = discriminator(torch.cat([batch.x, recon]))",
      "tests/models/test_vae_gan.py::test_each_loss_trains_only_the_networks_the_paper_names"),
    M("vae-gan-fakes-not-detached", MODELS + "vae_gan.py", "torch.cat([batch.x, recon.detach(), generated.detach()])",
      "torch.cat([batch.x, recon, generated])",
      "tests/models/test_vae_gan.py::test_each_loss_trains_only_the_networks_the_paper_names"),
    M("likelihood-unused-ignored", AUTOENCODER, "str(getattr(self.objective, \"likelihood_unused\", \"\"))", "\"\"",
      "tests/models/test_vae_gan.py::test_evaluation_reports_kl_and_features_and_no_pixel_likelihood",
      "tests/models/test_msssim_vae.py::test_evaluation_reports_ms_ssim_and_kl_and_no_likelihood_bound"),
    M("incomparable-losses-select-an-epoch", TRAINER, "if record[\"val_loss\"] < state.best_loss or not self.comparable_loss:",
      "if record[\"val_loss\"] < state.best_loss:",
      "tests/core/test_trainer_behaviour.py::test_an_objective_whose_losses_are_not_comparable_keeps_the_last_epochs_weights"),
    # ---- issue 18: tests aimed at what the suite missed or caught only by accident ------------------------
    M("validation-in-train-mode", TRAINER, "        self.model.eval()\n        names, total = None, None\n",
      "        names, total = None, None\n",
      "tests/core/test_trainer_behaviour.py::test_validation_runs_the_model_in_eval_mode"),
    M("best-weights-by-reference", TRAINER, "state.best_weights = {k: v.detach().clone() for",
      "state.best_weights = {k: v.detach() for",
      "tests/core/test_trainer_behaviour.py::test_the_best_epochs_weights_are_copied_not_referenced"),
    M("picks-ignore-seed-in-class", PICKS, "list(rng.permutation(np.flatnonzero(labels == c)))",
      "list(np.flatnonzero(labels == c))",
      "tests/viz/test_picks.py::test_the_seed_picks_which_images_of_each_class_are_shown"),
    M("export-target-not-empty-unchecked", EXPORT, "        if any(target.iterdir()):\n", "        if False:\n",
      "tests/registry/test_export.py::test_a_non_empty_target_is_refused_before_the_run_is_read"),
    M("split-labels-shuffled", SPLITS, "return (images[keep], pick(labels, keep))",
      "return (images[keep], pick(labels, order[n_out:]))",
      "tests/data/test_data.py::test_every_label_stays_with_its_image_through_the_splits"),
    # ---- issue 18: untrusted files, non-finite numbers, plugin contracts, resume ------------------------------
    M("export-config-fields-unchecked", EXPORT, "    check_config(root / paths.CONFIG, config)\n", "",
      "tests/registry/test_crafted_exports.py::test_a_config_field_of_the_wrong_type_is_one_line_naming_it"),
    M("export-dataset-path-kept", SHARE, "    return None if spec.takes_path else spec.name", "    return ref",
      "tests/registry/test_crafted_exports.py::test_an_imported_dataset_that_reads_local_paths_is_not_kept"),
    M("json-non-finite-accepted", FILES, "json.loads(text, parse_constant=_no_constant, parse_float=_finite)",
      "json.loads(text)", "tests/registry/test_crafted_exports.py::test_non_finite_metrics_in_an_export_are_refused",
      "tests/registry/test_crafted_exports.py"
      "::test_zoo_runs_json_is_strict_json_even_with_a_nan_written_into_a_manifest"),
    M("save-allows-non-finite", FILES, "sort_keys=True, allow_nan=False)", "sort_keys=True)",
      "tests/registry/test_crafted_exports.py::test_a_save_with_non_finite_metrics_is_refused"),
    M("model-card-raw-html", CARD, "return html.escape(str(value), quote=False).replace(", "return str(value).replace(",
      "tests/registry/test_crafted_exports.py::test_html_in_class_names_reaches_the_model_card_escaped"),
    M("idx-declared-size-unbounded", IDX, "expected = declared_bytes(f\"IDX file {path}\", shape, dtype.itemsize)",
      "expected = int(np.prod(shape, dtype=object)) * dtype.itemsize",
      "tests/data/test_data_bombs.py::test_a_gzipped_idx_declaring_4_gib_is_refused_from_its_header"),
    M("gzip-read-to-the-end", IDX, "    data = f.read(expected)\n", "    data = f.read()\n",
      "tests/data/test_data_bombs.py::test_decompression_stops_at_the_size_the_header_declares"),
    M("npz-headers-unchecked", DATA_FILES, "        check_npz_headers(file)\n", "",
      "tests/data/test_data_bombs.py::test_an_npz_header_claiming_9_tib_is_refused_from_the_header"),
    M("config-special-files-read", OPTIONS, "        if not stat.S_ISREG(mode):", "        if False:",
      "tests/cli/test_config_files.py::test_a_fifo_as_config_is_refused_without_waiting_for_a_writer"),
    M("model-contract-unchecked", BUILD, "spec.build(shape, **merged)\n    check_contract(model, spec.owner)\n",
      "spec.build(shape, **merged)\n",
      "tests/plugins/test_model_contract.py::test_a_model_breaking_the_contract_is_named_with_its_part"),
    M("figure-text-as-mathtext", "src/aezoo/viz/styles.py", "LITERAL_TEXT = {\"text.parse_math\": False}",
      "LITERAL_TEXT = {\"text.parse_math\": True}",
      "tests/viz/test_literal_text.py::test_class_names_with_dollars_are_drawn_as_written"),
    M("validation-nan-passes", TRAINER, "if k.startswith(\"val_\") and not math.isfinite(v)]",
      "if k.startswith(\"val_\") and False]",
      "tests/core/test_non_finite.py::test_a_nan_validation_loss_stops_training_in_its_epoch_and_saves_nothing"),
    M("eval-prints-nan", EVALUATE, "    _check_finite(model, metrics)\n", "",
      "tests/core/test_non_finite.py::test_a_model_giving_nan_is_one_line_never_nan_with_exit_0"),
    M("sigterm-not-caught", TRAINER, "(signal.SIGINT, signal.SIGTERM)", "(signal.SIGINT,)",
      "tests/api/test_resume.py::test_sigterm_leaves_a_checkpoint_and_says_how_to_resume"),
    M("resume-options-ignored", TRAIN_CMD, "        _refuse_ignored_with_resume(ctx, model)\n", "",
      "tests/api/test_resume.py::test_options_a_resume_would_ignore_are_refused_naming_them"),
    # ---- figures and pages ------------------------------------------------------------------------------------
    M("figure-title-without-run", VIEWS, 'else f"{run_label(model)}: {what}"', 'else f"figure: {what}"',
      "tests/cli/test_compare_argument.py::test_every_figure_command_titles_the_run_and_takes_title_dpi_and_style"),
    M("figure-style-ignored", FIGURE, "            with style():\n", "            if True:\n",
      "tests/viz/test_figures_for_people.py::test_talk_style_scales_every_text_by_one_and_a_half"),
    M("grid-tiles-touch", DRAW, "return max(1, round(side / 8))", "return 0",
      "tests/viz/test_figures_for_people.py::test_latent_grid_tiles_are_separated_by_white_gaps"),
    M("mask-drawn-black", DRAW, "shown = corrupted if mask is None else paint_mask(corrupted, mask)", "shown = corrupted",
      "tests/viz/test_figures_for_people.py::test_masked_pixels_are_drawn_in_the_mask_colour_with_a_legend"),
    M("latent-axes-not-shared", SIDE_BY_SIDE, "everything = np.concatenate([*points,", "everything = np.concatenate([points[-1],",
      "tests/viz/test_side_by_side.py::test_latent_maps_share_axes_that_hold_every_models_codes"),
    M("ae-n01-samples-called-meaningful", SIDE_BY_SIDE, "        return False, NOT_TRAINED_FOR_IT\n",
      "        return True, NOT_TRAINED_FOR_IT\n",
      "tests/viz/test_side_by_side.py::test_prior_samples_say_which_models_were_trained_for_n01"),
    M("collapse-not-warned", DIAGNOSIS, "if kl >= KL_FLOOR and active != 0:", "if kl >= 0:",
      "tests/core/test_diagnosis.py::test_a_collapsed_model_is_warned_with_the_advice"),
    M("sweep-runs-unnamed", OPTIONS, 'for k in swept)]) if swept else None', 'for k in swept)]) if False else None',
      "tests/cli/test_compare_argument.py::test_sweep_plans_scope_keys_and_combine_values"),
    # ---- discrete families and samplers fitted to codes ------------------------------------------------------
    M("gumbel-kl-without-log-k", POSTERIORS, "(log_q.exp() * (log_q + math.log(self.logits.shape[-1])))",
      "(log_q.exp() * log_q)",
      f"{GUMBEL_TESTS}::test_kl_of_uniform_logits_is_zero_and_otherwise_log_k_minus_entropy",
      f"{GUMBEL_TESTS}::test_training_loss_and_gradients_match_a_plain_torch_reference"),
    M("gumbel-temperature-not-annealed", GUMBEL, "q.relaxed(tau, hard=self.straight_through)",
      "q.relaxed(self.temperature, hard=self.straight_through)",
      f"{GUMBEL_TESTS}::test_training_loss_and_gradients_match_a_plain_torch_reference"),
    M("gumbel-straight-through-ignored", GUMBEL, "q.relaxed(tau, hard=self.straight_through)",
      "q.relaxed(tau, hard=False)", f"{GUMBEL_TESTS}::test_training_loss_and_gradients_match_a_plain_torch_reference"),
    M("gumbel-eval-decodes-relaxed-draws", GUMBEL, "if model.training else q.sample()",
      "if True else q.sample()", f"{GUMBEL_TESTS}::test_out_of_training_the_loss_is_the_discrete_elbo_of_one_hot_draws"),
    M("gumbel-log-q-unnormalised", POSTERIORS,
      "return (z.unflatten(-1, self.logits.shape[-2:]) * torch.log_softmax(self.logits, -1))",
      "return (z.unflatten(-1, self.logits.shape[-2:]) * self.logits)",
      f"{GUMBEL_TESTS}::test_eval_reports_the_discrete_elbo_and_an_iw_nll_that_match_exact_enumeration"),
    M("fsq-even-levels-not-offset", POSTERIORS, "offset = (self.width % 2 == 0).to(z.dtype) * 0.5",
      "offset = (self.width % 2 == 0).to(z.dtype) * 0.0",
      f"{FSQ_TESTS}::test_odd_levels_are_symmetric_and_even_levels_asymmetric_with_bound_zero_at_zero"),
    M("fsq-gradient-skips-the-bound", POSTERIORS, "return QuantisedQ((bounded / self.half_width).flatten(-2),",
      "return QuantisedQ(h,", f"{FSQ_TESTS}::test_the_straight_through_gradient_is_the_bounding_functions"),
    M("fsq-likelihood-numbers-reported", EVALUATOR, "    if declared:\n", "    if False:\n",
      f"{FSQ_TESTS}::test_evaluation_reports_no_likelihood_numbers_with_the_reason_and_the_fixed_code_size"),
    M("fsq-samples-unseen-codes", POSTERIORS, "    pseudo_count = 0.0", "    pseudo_count = 1.0",
      f"{FSQ_TESTS}::test_samples_draw_only_codes_seen_in_training_or_uniform_grid_codes"),
    M("made-output-reads-itself", MAF, "self.head = MaskedLinear((inputs[:, None] > units[None])",
      "self.head = MaskedLinear((inputs[:, None] >= units[None])",
      f"{SAMPLER_TESTS}::test_a_made_output_reads_only_the_inputs_before_it",
      f"{SAMPLER_TESTS}::test_maf_log_density_is_exact_and_inverts"),
    M("maf-log-det-sign", MAF, "log_det = log_det - log_scale.sum(-1)", "log_det = log_det + log_scale.sum(-1)",
      f"{SAMPLER_TESTS}::test_maf_log_density_is_exact_and_inverts"),
    M("maf-not-fitted", CODE_FIT, "            optimizer.step()\n", "            pass\n",
      f"{SAMPLER_TESTS}::test_held_out_codes_are_likelier_under_the_fitted_flow_than_under_one_gaussian"),
    M("two-stage-without-kl-warmup", TWO_STAGE, "warmup = min(1.0, step / (WARMUP * steps))", "warmup = 1.0",
      f"{SAMPLER_TESTS}::test_held_out_codes_are_likelier_under_the_two_stage_vae_than_under_one_gaussian"),
    M("figure-words-always-english", "src/aezoo/viz/words.py", "    return _current[key]", "    return ENGLISH[key]",
      "tests/viz/test_figure_words.py::test_a_corruption_figure_draws_the_words_it_is_given_and_english_again_after",
      "tests/pages/test_lesson_sections.py::test_a_spanish_page_draws_no_english_words_in_its_figures"),
    M("fsq-encoder-output-not-normalised", "src/aezoo/models/fsq_vae.py", "levels, normalise=True)",
      "levels, normalise=False)",
      "tests/models/test_fsq_vae.py::test_a_28x28_encoder_keeps_its_codes_apart_instead_of_saturating_the_bound"),
    M("category-traversal-sets-the-wrong-variable", VIEWS, "z[:, v] = torch.eye(categories, dtype=z.dtype)",
      "z[:, order[0]] = torch.eye(categories, dtype=z.dtype)",
      f"{GUMBEL_TESTS}::test_traversals_set_the_variables_with_the_most_kl_to_each_category"),
    M("cvae-decoder-ignores-the-label", CONDITIONAL_NETS, "torch.cat([z, one_hot(y, self.classes, z)], -1)",
      "torch.cat([z, one_hot(y * 0, self.classes, z)], -1)",
      f"{CVAE_TESTS}::test_generated_rows_are_the_requested_classes_by_the_pixel_classifier"),
    M("cvae-encoder-ignores-the-label", CONDITIONAL_NETS, "planes = one_hot(y, self.classes, x)",
      "planes = one_hot(y * 0, self.classes, x)",
      f"{CVAE_TESTS}::test_the_label_changes_the_code_and_the_image_when_its_weights_are_not_zero",
      f"{CVAE_TESTS}::test_loss_and_gradients_match_a_plain_torch_reference"),
    M("cvae-label-range-unchecked", CONDITIONAL_NETS, "if low < 0 or high >= classes:", "if False:",
      f"{CVAE_TESTS}::test_labels_outside_the_classes_it_was_built_for_are_refused_in_words"),
    M("conditional-likelihood-unlabelled", EVALUATOR, "if caps.conditional and caps.likelihood_bound:", "if False:",
      f"{CVAE_TESTS}::test_evaluation_says_its_likelihood_numbers_are_conditional"),
    M("code-sampler-init-unseeded", MAF, "            torch.manual_seed(seed)\n", "            pass\n",
      f"{SAMPLER_TESTS}::test_fitting_is_seeded"),
    # ---- closed-form fits and the lesson page -------------------------------------------------------------------
    M("pca-decoder-left-unfitted", "src/aezoo/models/pca.py",
      "for basis in (model.encoder.basis, model.decoder.basis):", "for basis in (model.encoder.basis,):",
      "tests/models/test_pca.py::test_pca_codes_and_reconstructions_are_scikit_learns"),
    M("closed-form-fit-skipped", "src/aezoo/core/trainer.py",
      "        if fitter is not None:\n            return self._fit_closed_form(fitter)\n", "",
      "tests/models/test_pca.py::test_pca_is_fitted_once_and_zoo_train_says_so"),
    M("lesson-collapse-never-named", "src/aezoo/pages/lesson/numbers.py",
      '"collapsed": collapse_warning(m) is not None}', '"collapsed": False}',
      "tests/pages/test_lesson_sections.py::test_a_collapsed_vae_is_named_instead_of_the_textbook_claim"),
    M("lesson-run-found-whatever-its-settings", "src/aezoo/pages/lesson/runs.py",
      "    return (saved == {k: wanted[k]", "    return True or (saved == {k: wanted[k]",
      "tests/pages/test_lesson_runs.py::test_a_run_squatting_on_a_lesson_name_is_refused"),
    # ---- flow, hyperspherical, hierarchical and Hamiltonian families ------------------------------------------
    M("flow-log-q-without-log-det", "src/aezoo/core/flows.py", "self.base.log_prob(z0) - log_det",
      "self.base.log_prob(z0)",
      "tests/models/test_planar_vae.py::test_loss_is_the_elbo_with_the_flowed_density_on_a_fixed_batch",
      "tests/models/test_iaf_vae.py::test_evaluator_scores_the_flowed_density_at_its_draws"),
    M("flow-log-q-of-any-tensor", "src/aezoo/core/flows.py", "if drawn is z:", "if True:",
      "tests/models/test_iaf_vae.py::test_log_prob_is_known_at_the_flows_own_draws_only"),
    M("iaf-log-det-sign-flipped", "src/aezoo/models/iaf_vae.py", "log_det + F.logsigmoid(s).sum(-1)",
      "log_det - F.logsigmoid(s).sum(-1)",
      "tests/models/test_iaf_vae.py::test_log_det_is_autograds_jacobian_log_det",
      "tests/models/test_iaf_vae.py::test_loss_is_the_elbo_with_the_flowed_density_on_a_fixed_batch"),
    M("iaf-output-sees-its-own-input", "src/aezoo/models/iaf_vae.py", "(inputs[:, None] > degrees[-1][None])",
      "(inputs[:, None] >= degrees[-1][None])", "tests/models/test_iaf_vae.py::test_one_step_is_autoregressive"),
    M("planar-u-hat-dropped", "src/aezoo/models/planar_vae.py", "u_hat = u + (F.softplus(wu) - 1 - wu) * w",
      "u_hat = u + 0 * w", "tests/models/test_planar_vae.py::test_u_hat_keeps_every_planar_step_invertible"),
    M("radial-beta-below-minus-alpha", "src/aezoo/models/planar_vae.py", "beta = -alpha + F.softplus",
      "beta = -2 * alpha + F.softplus",
      "tests/models/test_planar_vae.py::test_radial_steps_keep_beta_above_minus_alpha"),
    M("vmf-kl-without-sphere-area", "src/aezoo/models/svae.py",
      "return kappa * mean_cosine + vmf_log_norm(m, kappa) + log_sphere_area(m)",
      "return kappa * mean_cosine + vmf_log_norm(m, kappa)",
      "tests/models/test_svae.py::test_kl_matches_the_3d_closed_form",
      "tests/models/test_svae.py::test_kl_matches_a_monte_carlo_estimate_with_the_models_sampler"),
    M("vmf-householder-reflects-the-wrong-way", "src/aezoo/models/svae.py", "u = F.normalize(e1 - loc, dim=-1)",
      "u = F.normalize(e1 + loc, dim=-1)",
      "tests/models/test_svae.py::test_householder_takes_e1_to_mu_and_is_a_reflection",
      "tests/models/test_svae.py::test_draws_lie_on_the_sphere_with_the_right_mean_cosine"),
    M("wood-accepts-every-proposal", "src/aezoo/models/svae.py", "ok = (m - 1) * np.log(t) - t + d[todo] >=",
      "ok = True | (m - 1) * np.log(t) - t + d[todo] >=",
      "tests/models/test_svae.py::test_the_3d_cosine_follows_its_exact_law"),
    M("ladder-merge-weights-swapped", "src/aezoo/models/ladder_vae.py", "weight = torch.sigmoid(lv_p - lv_b)",
      "weight = torch.sigmoid(lv_b - lv_p)",
      "tests/models/test_ladder_vae.py::test_merge_of_equal_gaussians_halves_the_variance_and_a_flat_prior_keeps_the_bottom_up_one",
      "tests/models/test_ladder_vae.py::test_loss_is_the_elbo_with_per_level_kls_on_a_fixed_batch"),
    M("ladder-top-level-kl-dropped", "src/aezoo/models/ladder_vae.py", "            out.append(kl.mean(0) if kl.dim() == 2 else kl)\n        return out",
      "            out.append(kl.mean(0) if kl.dim() == 2 else kl)\n        return out[:-1] or out",
      "tests/models/test_ladder_vae.py::test_loss_is_the_elbo_with_per_level_kls_on_a_fixed_batch"),
    M("hvae-position-step-not-leapfrog", "src/aezoo/models/hamiltonian_vae.py",
      "                rho = rho - eps / 2 * grad\n                z = z + eps * rho\n",
      "                z = z + eps * rho\n                rho = rho - eps / 2 * grad\n",
      "tests/models/test_hamiltonian_vae.py::test_the_flow_has_the_log_det_of_its_tempering"),
    M("hvae-first-order-gradients-only", "src/aezoo/models/hamiltonian_vae.py",
      "grad = self.potential_gradient(z, x, training)\n", "grad = self.potential_gradient(z, x, False)\n",
      "tests/models/test_hamiltonian_vae.py::test_loss_and_its_gradient_are_the_papers_on_a_fixed_batch"),
    M("hvae-tempering-dropped", "src/aezoo/models/hamiltonian_vae.py", "rho * (previous / root_beta)", "rho",
      "tests/models/test_hamiltonian_vae.py::test_the_flow_has_the_log_det_of_its_tempering",
      "tests/models/test_hamiltonian_vae.py::test_loss_and_its_gradient_are_the_papers_on_a_fixed_batch"),
    M("posterior-not-given-the-images", AUTOENCODER, 'if getattr(self.posterior, "reads_input", False) else',
      "if False else", "tests/models/test_hamiltonian_vae.py::test_loss_and_its_gradient_are_the_papers_on_a_fixed_batch"),
    M("deconv-rule-inverted", "src/aezoo/nets/image_deconv.py", "    return out_channels <= limit",
      "    return out_channels > limit", "tests/nets/test_image_deconv.py"),
    M("onednn-left-switched-off", "src/aezoo/nets/image_deconv.py",
      "        finally:\n            torch.backends.mkldnn.enabled = True", "        finally:\n            pass",
      "tests/nets/test_image_deconv.py"),
    M("deconv-dtype-ignores-autocast", "src/aezoo/nets/image_deconv.py", "_cpu_autocast_dtype() or x.dtype", "x.dtype",
      "tests/nets/test_image_deconv.py"),
]


def check_applies(mutations: list[Mutation]) -> list[str]:
    """Problems with the list: an original snippet not found exactly once, a guarding test file missing."""
    problems = []
    for m in mutations:
        path = ROOT / m.file
        count = path.read_text().count(m.original) if path.is_file() else 0
        if count != 1:
            problems.append(f"mutation no longer applies: {m.id}: {m.file} contains the original snippet "
                            f"{count} times (expected once); update it in tools/mutation_check.py")
        for test in m.tests:
            file, _, name = test.partition("::")
            if not (ROOT / file).is_file() or (name and f"def {name}(" not in (ROOT / file).read_text()):
                problems.append(f"mutation {m.id}: guarding test {test} does not exist")
    ids = [m.id for m in mutations]
    problems += [f"duplicate mutation id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems


def copy_tree(dest: Path) -> None:
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
        elif src.is_file():
            shutil.copy2(src, dest / name)


def run_pytest(copy: Path, tests: tuple[str, ...] | list[str], timeout: float) -> tuple[int | None, float, str]:
    """(exit code or None on timeout, seconds, output tail) of pytest on ``tests`` in the copy."""
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("AEZOO_LOAD_PLUGINS", None)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", "-m", "not slow", *tests]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - start, "timed out"
    return done.returncode, time.perf_counter() - start, (done.stdout + done.stderr)[-2000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="ID", help="Run only this mutation (repeatable).")
    parser.add_argument("--json", metavar="PATH", help="Also write the results as JSON to PATH ('-': stdout).")
    parser.add_argument("--check", action="store_true", help="Only check that every mutation still applies.")
    parser.add_argument("--list", action="store_true", help="List the mutations and their guarding tests.")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="Seconds per mutation (default %(default)s).")
    args = parser.parse_args(argv)

    mutations = MUTATIONS
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in MUTATIONS})
        if unknown:
            parser.error(f"unknown mutation {', '.join(unknown)}; see --list")
        mutations = [m for m in MUTATIONS if m.id in args.only]
    if args.list:
        for m in mutations:
            print(f"{m.id:40} {m.file}  <- {' '.join(m.tests)}")
        return 0
    problems = check_applies(mutations)
    for p in problems:
        print(p, file=sys.stderr)
    if problems or args.check:
        if not problems:
            print(f"all {len(mutations)} mutations apply")
        return 1 if problems else 0

    results = []
    with tempfile.TemporaryDirectory(prefix="aezoo-mutation-") as tmp:
        copy = Path(tmp)
        copy_tree(copy)
        guards = sorted({t for m in mutations for t in m.tests})
        code, seconds, out = run_pytest(copy, guards, 3 * args.timeout)
        if code != 0:
            print(f"the guarding tests fail without any mutation ({seconds:.0f} s); fix them first:\n{out}",
                  file=sys.stderr)
            return 1
        print(f"baseline: {len(guards)} guarding test targets pass unmutated ({seconds:.0f} s)", flush=True)
        for m in mutations:
            target = copy / m.file
            pristine = target.read_text()
            target.write_text(pristine.replace(m.original, m.replacement, 1))
            try:
                code, seconds, out = run_pytest(copy, m.tests, args.timeout)
            finally:
                target.write_text(pristine)
            status = {0: "survived", 1: "caught", 2: "caught", None: "timeout"}.get(code, "error")
            results.append({**asdict(m), "status": status, "pytest_exit_code": code, "seconds": round(seconds, 1)})
            if status == "caught":  # which test saw it, from pytest's short summary
                results[-1]["failed"] = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))]
            elif status == "error":
                results[-1]["output"] = out
            print(f"{status:9} {m.id:40} {seconds:6.1f} s", flush=True)
    caught = sum(r["status"] == "caught" for r in results)
    summary = {"caught": caught, "total": len(results), "score": round(caught / max(len(results), 1), 3),
               "survived": [r["id"] for r in results if r["status"] == "survived"],
               "errors": [r["id"] for r in results if r["status"] in ("error", "timeout")], "mutations": results}
    print(f"score: {caught}/{len(results)} caught"
          + (f"; survived: {', '.join(summary['survived'])}" if summary["survived"] else "")
          + (f"; errors: {', '.join(summary['errors'])}" if summary["errors"] else ""))
    if args.json == "-":
        print(json.dumps(summary, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
