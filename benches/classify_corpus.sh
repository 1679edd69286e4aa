#!/usr/bin/env bash
# Classifier precision and recall on the whole captured corpus, per tool and per kind.
#
#   benches/classify_corpus.sh
#
# Every real tool output captured under agent-classify/tests/testdata (listed in
# its manifests: testdata/manifest.tsv and testdata/*/manifest.tsv) is classified
# by AutoClassifier from the command that ran, as the repair loop does, and
# compared with the kinds the project was written to produce and the failing
# tests of the tool's structured report. The scoring is the test
# `corpus::precision_and_recall_over_the_whole_corpus_are_at_least_0_95_per_kind_and_overall`;
# this script runs it and prints its markdown tables and the outputs it got wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q -p agent-classify --all-features --test classify \
  corpus::precision_and_recall_over_the_whole_corpus -- --nocapture 2>&1 |
  grep -E '^\||^MISS |^$|panicked|below' || true
