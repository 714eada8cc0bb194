"""Token tagging (UD-POS, PAN-X / WikiANN NER). Labels sit on the first sub-word of a word."""

from __future__ import annotations

from torch import nn

from ..metrics import entity_scores, is_iob, token_accuracy
from .base import Kind


class TaggingHead(nn.Module):
    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden):
        return self.classifier(self.dropout(hidden))


class TaggingKind(Kind):
    name = "tagging"

    def features(self, examples):
        encoded = self.tokenizer(
            [list(e["tokens"]) for e in examples], is_split_into_words=True, truncation=True, max_length=self.max_length
        )
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        features = []
        for i, example in enumerate(examples):
            word_ids = encoded.word_ids(i)
            labels, first = [], []
            previous = None
            for word in word_ids:
                if word is None or word == previous:
                    labels.append(self.label_pad)
                    first.append(-1)
                else:
                    labels.append(int(example["tags"][word]))
                    first.append(word)
                previous = word
            features.append({**{k: encoded[k][i] for k in keys}, "labels": labels, "word_ids": first})
        return features

    def build_head(self, hidden_size, dropout):
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

    def metrics(self, predictions, examples, features):
        # Words cut off by max_length get the "O"/first label: they count, as in the official scoring.
        predicted = [[words.get(i, 0) for i in range(len(e["tokens"]))] for words, e in zip(predictions, examples)]
        references = [list(map(int, e["tags"])) for e in examples]
        scores = {"accuracy": token_accuracy(predicted, references)}
        if is_iob(self.labels):
            names = self.labels
            scores.update(entity_scores([[names[t] for t in p] for p in predicted], [[names[t] for t in r] for r in references]))
        return scores
