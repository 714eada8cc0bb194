"""Token tagging (UD-POS, PAN-X / WikiANN NER). Labels sit on the first sub-word of a word.

Sentences longer than ``max_length`` sub-words are split into windows of whole words
(never truncated), and the windows' predictions are joined back per sentence. Scored over the
tag names by the task's scorer: ``seqeval`` (IOB2 entities, PAN-X) or ``xtreme_udpos`` (UD-POS
as XTREME's release scores it), both with token accuracy.
"""

from __future__ import annotations

from torch import nn

from .base import Kind


class TaggingHead(nn.Module):
    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden, attention_mask=None):
        return self.classifier(self.dropout(hidden))


class TaggingKind(Kind):
    name = "tagging"

    def _windows(self, example: dict, word_lengths: list) -> list:
        """Word ranges [start, end) whose sub-words fit ``max_length`` with the special tokens."""
        budget = max(1, self.max_length - self.tokenizer.num_special_tokens_to_add(pair=False))
        windows, start, used = [], 0, 0
        for index, length in enumerate(word_lengths):
            length = min(max(length, 1), budget)
            if used + length > budget and index > start:
                windows.append((start, index))
                start, used = index, 0
            used += length
        windows.append((start, len(word_lengths)))
        return windows

    def features(self, examples):
        words = [list(e["tokens"]) for e in examples]
        # One pass without special tokens tells each word's sub-word count.
        pieces = self.tokenizer(words, is_split_into_words=True, add_special_tokens=False)
        spans = []
        for i, example in enumerate(examples):
            counts = [0] * len(words[i])
            for word in pieces.word_ids(i):
                if word is not None:
                    counts[word] += 1
            for start, end in self._windows(example, counts):
                spans.append((i, start, end))
        encoded = self.tokenizer([words[i][s:e] for i, s, e in spans], is_split_into_words=True,
                                 truncation=True, max_length=self.max_length)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        features = []
        for row, (i, start, end) in enumerate(spans):
            tags = examples[i]["tags"]
            labels, first = [], []
            previous = None
            for word in encoded.word_ids(row):
                if word is None or word == previous:
                    labels.append(self.label_pad)
                    first.append(-1)
                else:
                    labels.append(int(tags[start + word]))
                    first.append(start + word)
                previous = word
            features.append({**{k: encoded[k][row] for k in keys}, "labels": labels, "word_ids": first,
                             "example_index": i})
        return features

    def build_head(self, hidden_size, dropout):
        if not self.labels:
            raise ValueError("this tagging task has no labels: labels listed in its data folder (Task.labels_file) "
                             "must be resolved with Task.with_data(data_dir) before the kind is built")
        return TaggingHead(hidden_size, len(self.labels), dropout)

    def decode(self, logits, features):
        best = logits.argmax(-1).tolist()
        predictions = []
        for row, feature in zip(best, features):
            words = {}
            for position, word in enumerate(feature["word_ids"]):
                if word >= 0:
                    words[word] = row[position]
            predictions.append(words)
        return predictions

    def outputs(self, predictions, examples, features):
        """The predicted tag names of every word, one list per sentence."""
        merged = [dict() for _ in examples]
        for words, feature in zip(predictions, features):
            merged[feature.get("example_index", 0)].update(words)
        # A word with no sub-word (an empty token) gets label 0, and counts.
        return [[self.labels[words.get(i, 0)] for i in range(len(e["tokens"]))] for words, e in zip(merged, examples)]

    def references(self, examples):
        return [[self.labels[int(t)] for t in e["tags"]] for e in examples]
