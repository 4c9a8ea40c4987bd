"""A small word tokeniser in the style of the GEC corpora (spaCy / Penn Treebank splits).

Punctuation becomes its own token and clitics split off as in the W&I and JFLEG files:
"I don't know, it's John's." -> I do n't know , it 's John 's .
"""
import re

_NEGATION = re.compile(r"(\w)(n't)\b", re.IGNORECASE)
_CLITIC = re.compile(r"(\w)('(?:s|re|ve|ll|d|m))\b", re.IGNORECASE)
_TOKEN = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|\w+(?:[-']\w+)*|[^\w\s]", re.IGNORECASE)


def tokenize(text):
    text = _NEGATION.sub(r"\1 \2", text.replace("’", "'"))
    text = _CLITIC.sub(r"\1 \2", text)
    return _TOKEN.findall(text)
