#!/usr/bin/env bash
# Choose and ship v7 from its training run (issue 34, item 5), as
# saved_models/en-fr/README.md ("How it was made") writes it out.
#
#   benchmarks/release/train_v7.sh /work/runs/en-fr-v7 --epochs N --no-validation-bleu
#       first, if the run was stopped after epoch N (its backup says epoch
#       N): resumes, trains nothing more and writes the run's model
#       directory (config, vocabularies, the weights of the epoch with the
#       best validation loss), which `average` needs
#   benchmarks/release/ship_v7.sh select /work/runs/en-fr-v7
#       the last epoch, the last 2 and the last 3 averaged, as model
#       directories beside the run (RUN-last, RUN-avg2, RUN-avg3), each
#       scored greedy on the validation sets only (validation_bleu.py), with
#       the run itself (its best epoch by validation loss)
#   benchmarks/release/ship_v7.sh export /work/runs/en-fr-v7-avg3 [VERSION]
#       the chosen one into saved_models/en-fr: Keras (float16 weights),
#       the TF Serving SavedModel (version VERSION, default 3 (v7), beam 5;
#       the earlier version removed to stay under 60 MB) and the int8
#       TFLite model. v8 and later ship with the same steps.
#   benchmarks/release/ship_v7.sh measure LABEL [--under-load]
#       the shipped model's measured sections of its card: real_text.py
#       (greedy and beam 5 with the paragraph test, then beam 5 with names
#       protected), names.py (both ways) and the everyday phrases
#       (benchmarks/everyday/NAME.tsv, NAME the label's first word, to be
#       read and judged by a person)
#
# Run it from the repository root, with training stopped (it needs the
# cores); KERAS_SEQ2SEQ_DATA names the data directory.
set -euo pipefail
what=${1:?select RUN, export MODEL or measure LABEL}
dir=${2:?a run or model directory, or the label}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
case $what in
select)
    last=$(ls "$dir"/checkpoints/epoch_*.weights.h5 | sort | tail -n 1)
    echo "last epoch: $last"
    keras-seq2seq average --run "$dir" --checkpoints "$last" --out "$dir-last"
    keras-seq2seq average --run "$dir" --last 2 --out "$dir-avg2"
    keras-seq2seq average --run "$dir" --last 3 --out "$dir-avg3"
    python benchmarks/validation_bleu.py "$dir-avg3" "$dir-avg2" "$dir" "$dir-last"
    ;;
export)
    out=saved_models/en-fr
    keras-seq2seq export --model "$dir" --format keras --quantize float16 --out $out
    rm -rf $out/tf_serving
    keras-seq2seq export --model $out --format saved_model --out $out --name tf_serving \
        --version "${3:-3}" --beam-size 5
    keras-seq2seq export --model $out --format tflite --quantize dynamic-int8 \
        --out $out/tflite
    du -sh --apparent-size $out
    ;;
measure)
    label=$dir
    shift 2
    model=saved_models/en-fr
    python benchmarks/real_text.py --model $model --label "$label" --beam-sizes 1 5 "$@"
    python benchmarks/real_text.py --model $model --label "$label" --beam-sizes 5 \
        --protect-names --no-paragraphs "$@"
    python benchmarks/names.py --model $model --label "$label" --beam-sizes 1 5
    python benchmarks/names.py --model $model --label "$label, names protected (default)" \
        --beam-sizes 1 5 --protect-names
    python benchmarks/everyday/check.py --model $model \
        --out "benchmarks/everyday/${label%% *}.tsv"
    ;;
*)
    echo "unknown step $what: select, export or measure" >&2
    exit 2
    ;;
esac
