"""`onmt_train` with checkpoints by the clock (OpenNMT-py 3.5.1).

    python benchmarks/peers/onmt/clock_train.py --run RUN --minutes 20,40,60 -- \
        -config RUN/config.yaml

Runs in the OpenNMT-py venv. OpenNMT-py saves checkpoints by steps
(`save_checkpoint_steps`), not by time. Two ways to get the 20/40/60-minute
checkpoints were considered:

- estimate the steps from a short timing run and set
  `save_checkpoint_steps`: simple, but a step's cost changes with the batch
  lengths, with validation passes and with anything else on the machine, so
  the saves drift from the minutes (minutes off over an hour);
- force a save at the minute from inside the run: exact to one step.

This wrapper does the second, with no change to OpenNMT-py's files: it
starts `onmt_train`'s own `main()` in this process (on CPU OpenNMT-py
trains in the calling process) after wrapping two methods of
`onmt.trainer.Trainer`: `train` starts the clock when the training loop
starts (vocabulary and model building are before it, as our clock starts
at Keras' `on_train_begin`), and `_maybe_report_training`, which the loop
calls once after every optimizer step, checks the clock and calls the
trainer's own `model_saver.save(step)` (the normal RUN/model_step_N.pt
checkpoint) when a minute is due, then appends it to RUN/clock.json. At
the last minute it ends the loop (an exception caught around `train`), so
the run's wall clock is the budget plus at most one step. The config
pushes `train_steps` and `save_checkpoint_steps` out of reach so only the
clock saves.
"""

import argparse
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import clock  # noqa: E402  (benchmarks/peers/clock.py: no Keras import at module level)


class ClockStop(Exception):
    pass


def _peak_rss_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return round(own, 1), round(children, 1)


def install(run_dir, minutes, steps=None):
    from onmt.trainer import Trainer

    schedule = clock.Clock(minutes)
    state = {}
    last = steps[-1] if steps else None
    original_train = Trainer.train
    original_report = Trainer._maybe_report_training

    def train(self, *args, **kwargs):
        state["started"] = time.monotonic()
        clock.update_clock(run_dir, started_unix=time.time(), minutes=list(minutes))
        try:
            return original_train(self, *args, **kwargs)
        except ClockStop:
            end = f"step {steps[-1]}" if steps else f"{minutes[-1]:g} minutes"
            print(f"[clock] stopped at {end}", flush=True)
            return None

    def report(self, step, num_steps, learning_rate, report_stats):
        result = original_report(self, step, num_steps, learning_rate, report_stats)
        elapsed = time.monotonic() - state["started"]
        if steps is None:
            due = schedule.due(elapsed)
        else:  # by step: the entry's "minute" is when the step was reached
            due = [round(elapsed / 60, 2)] if step in steps else []
        for minute in due:
            self.model_saver.save(step, moving_average=self.moving_average)
            path = f"{self.model_saver.base_path}_step_{step}.pt"
            own, children = _peak_rss_mb()
            saved = time.monotonic() - state["started"]
            clock.add_checkpoint(run_dir, minute, elapsed, step, path,
                                 save_seconds=round(saved - elapsed, 1),
                                 peak_rss_mb=own, peak_rss_children_mb=children)
            print(f"[clock] {minute:g} min: step {step}, saved {path}", flush=True)
        if (schedule.finished if steps is None else step >= last):
            raise ClockStop()
        return result

    Trainer.train = train
    Trainer._maybe_report_training = report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        sys.exit(__doc__)
    split = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--minutes", default="20,40,60")
    p.add_argument("--system", default="onmt")
    p.add_argument("--steps", help="Save after these optimizer steps instead (e.g. 300,600) "
                   "and stop at the last: comparisons at equal steps.")
    args = p.parse_args(argv[:split])
    minutes = clock.parse_minutes(args.minutes)
    steps = clock.parse_steps(args.steps) if args.steps else None
    os.makedirs(args.run, exist_ok=True)
    clock.update_clock(args.run, system=args.system, checkpoints=[],
                       process_started_unix=time.time(),
                       command=["onmt_train", *argv[split + 1:]])
    if steps:
        clock.update_clock(args.run, steps=list(steps))
    install(args.run, minutes, steps)
    from onmt.bin.train import main as onmt_main

    sys.argv = ["onmt_train", *argv[split + 1:]]
    onmt_main()
    clock.update_clock(args.run, finished_unix=time.time())


if __name__ == "__main__":
    main()
