"""From raw article text to a stream of token ids: the paper's tokenizer and vocabulary.

The paper (Appendix A.1) lowercases the text, turns every character outside
``a``-``z`` into whitespace, splits on whitespace, optionally drops articles
shorter than 500 tokens, keeps the V most frequent words and deletes every
other token from the stream. This module does exactly that, for

* the registered local parquet shards (``wikipedia/20150523.en-ci``,
  ``wikipedia/20150523.en-sample``),
* the paper's corpus streamed from the Hugging Face Hub
  (``wikimedia/wikipedia:20231101.en``), through the same code path
  (``datasets.load_dataset(..., streaming=True)``; the schemas are identical),
* a user's own parquet files, or UTF-8 text files with one article per line.

Articles are streamed, so memory stays bounded by the id array (2 bytes a token
for V <= 65,536). The result is cached on disk (``$QWEM_CACHE_DIR/corpus``),
keyed by content: the corpus fingerprint (registered checksums, verified, or the
sha256 of a file's bytes), the tokenizer version, the article filter, the token
budget and V. Each cache file stores its key and is rejected (reported, rebuilt)
on a mismatch; files are written atomically, a damaged one is reported and
rebuilt, and a failed cache write is a warning.

Private modules: ``_tokenize`` (tokenizer, :class:`Vocabulary`,
:class:`TokenizedCorpus`), ``_sources`` (article streams, the two passes),
``_cache`` (:func:`load_corpus` and its cache).

Used in: book/01_word2vec_pmi.md and every chapter that needs real text.
"""

from ._cache import cache_key as cache_key
from ._cache import cache_root as cache_root
from ._cache import load_corpus as load_corpus
from ._cache import read_keyed as read_keyed
from ._cache import root_of as root_of
from ._cache import write_cache as write_cache
from ._sources import CORPUS_SUFFIXES as CORPUS_SUFFIXES
from ._sources import count_words as count_words
from ._sources import encode_articles as encode_articles
from ._sources import encode_with_vocabulary as encode_with_vocabulary
from ._sources import iter_articles as iter_articles
from ._sources import tokenize_articles as tokenize_articles
from ._tokenize import TOKENIZER_VERSION as TOKENIZER_VERSION
from ._tokenize import CorpusError as CorpusError
from ._tokenize import TokenizedCorpus as TokenizedCorpus
from ._tokenize import Vocabulary as Vocabulary
from ._tokenize import build_vocabulary as build_vocabulary
from ._tokenize import tokenize as tokenize

__all__ = [
    "TOKENIZER_VERSION",
    "tokenize",
    "Vocabulary",
    "TokenizedCorpus",
    "CorpusError",
    "iter_articles",
    "count_words",
    "build_vocabulary",
    "encode_articles",
    "tokenize_articles",
    "encode_with_vocabulary",
    "load_corpus",
    "cache_key",
    "cache_root",
    "root_of",
    "read_keyed",
    "write_cache",
    "CORPUS_SUFFIXES",
]
