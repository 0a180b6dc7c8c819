"""Build Plinth's example text models (issue 5): an intent classifier of each kind.

Run from the repository root with Debian's Python (python3-sklearn, python3-onnx, numpy,
PyYAML; no skl2onnx, no onnxruntime, no keras):

    /usr/bin/python3 examples/build-text-models.py

It rebuilds, deterministically (fixed seeds, fixed split):

    examples/models/intents-tfidf/1/   one ONNX graph taking the text itself (a string tensor
                                       [N, 1]): StringNormalizer + Tokenizer + TfIdfVectorizer +
                                       idf + L2 Normalizer + LinearClassifier, written by hand the
                                       way skl2onnx converts a TfidfVectorizer + LogisticRegression
    examples/models/intents-keras/1/   the Keras layout: tokenizer.json (a Keras Tokenizer's
                                       word_index and settings), model.onnx (embedding + masked
                                       mean pooling + dense + softmax over padded index
                                       sequences, trained here in numpy), labels.json (a
                                       LabelEncoder's classes_), model.yaml declaring the
                                       preprocessing and postprocessing steps
    examples/requests/intents.pega.json      a Pega text-API request body
    test/fixtures/text/intent-examples.json  probe texts with the probabilities sklearn and the
                                       numpy network give, which test/text/example-models.test.ts
                                       checks onnxruntime-node reproduces (to 1e-5)

The corpus is self-written: 10 intents x 12 utterances, mostly English, with a few in other
scripts (Cyrillic, Japanese, Chinese, Arabic, Greek) and with emoji.
"""

import json
import re
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent
FIXTURE = ROOT / "test" / "fixtures" / "text" / "intent-examples.json"

IR_VERSION = 8
SEED = 0

INTENTS = {
    "greeting": [
        "hello", "hi there", "hey, how are you?", "good morning", "good afternoon team",
        "hello, is anyone there?", "hi! 👋", "hey hey", "Привет", "こんにちは",
        "你好", "greetings, friend",
    ],
    "goodbye": [
        "goodbye", "bye for now", "see you later", "talk to you tomorrow", "have a nice day, bye",
        "that's all, goodbye", "bye bye 👋", "good night", "Пока, до свидания", "さようなら",
        "再见", "catch you later",
    ],
    "thanks": [
        "thank you", "thanks a lot", "many thanks for your help", "thanks, that helped",
        "I appreciate it", "thank you so much 🙏", "cheers, thanks", "great, thanks!",
        "Спасибо большое", "ありがとう", "谢谢", "شكرا جزيلا",
    ],
    "opening_hours": [
        "what are your opening hours?", "when do you open?", "are you open on sunday?",
        "what time do you close today?", "opening hours on saturday", "is the store open now?",
        "what time does the shop open tomorrow?", "are you open on public holidays?",
        "until what time are you open?", "store hours please 🕘", "when are you closed?",
        "Часы работы магазина?",
    ],
    "refund": [
        "I want a refund", "how do I get my money back?", "refund my order please",
        "can I return this for a refund?", "I was charged twice, refund me",
        "request a refund for order 1234", "money back please 💸", "the refund has not arrived",
        "when will I receive my refund?", "return the item and refund", "I'd like my money back",
        "Хочу вернуть деньги",
    ],
    "order_status": [
        "where is my order?", "track my package", "has my order shipped?",
        "what is the status of order 5678?", "my parcel has not arrived yet 📦",
        "when will my order arrive?", "tracking number for my order", "is my package on the way?",
        "order status please", "delivery status of my purchase", "my order is late",
        "我的订单在哪里",
    ],
    "cancel_order": [
        "cancel my order", "I want to cancel the purchase", "please cancel order 4321",
        "how do I cancel an order?", "stop my order before it ships",
        "I changed my mind, cancel it", "cancel the subscription", "cancel everything ❌",
        "can I still cancel my order?", "undo my last order", "I no longer want this order",
        "отменить заказ",
    ],
    "password_reset": [
        "I forgot my password", "reset my password", "can't log in to my account",
        "how do I change my password?", "password reset link not working", "locked out of my account 🔒",
        "login fails with my password", "send me a password reset email", "I can't sign in",
        "my account password expired", "recover my account", "パスワードを忘れました",
    ],
    "shipping_cost": [
        "how much is shipping?", "do you ship for free?", "shipping costs to canada",
        "what are the delivery fees?", "is delivery free over 50 euros?", "shipping price for express",
        "how much does delivery cost?", "international shipping rates 🌍", "free shipping threshold",
        "cost of next day delivery", "do you charge for shipping?", "κόστος αποστολής",
    ],
    "complaint": [
        "this is terrible service", "I am very unhappy", "the product broke after one day",
        "worst experience ever 😡", "I want to complain", "your support is useless",
        "the item arrived damaged", "I'm disappointed with the quality", "nobody answers my emails",
        "this is unacceptable", "file a complaint", "很糟糕的服务",
    ],
}

# Texts outside the corpus, run through both models by the tests.
PROBES = [
    "hello, good morning!",
    "thanks so much for the quick help 🙏🙏",
    "when does the shop close on saturday?",
    "I need my money back for order 9999",
    "where is my package? it's late 📦",
    "please cancel my subscription",
    "I forgot my login password",
    "is shipping free to france?",
    "the support was terrible 😡😡",
    "bye, see you tomorrow",
    "Привет, спасибо",
    "ありがとう、さようなら",
    "",
    "   ",
    "🙂",
    "totally unrelated words here",
    "ORDER STATUS PLEASE",
    "refund refund refund refund",
    "a b c",
    "hello " * 40,
]


def corpus():
    texts, labels = [], []
    for intent, utterances in INTENTS.items():
        assert len(utterances) == 12, intent
        texts.extend(utterances)
        labels.extend([intent] * len(utterances))
    return texts, labels


def make_model(name, nodes, inputs, outputs, initializers, opsets, doc):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=opsets, producer_name="plinth-examples")
    model.ir_version = IR_VERSION
    model.doc_string = doc
    onnx.checker.check_model(model)
    return model


def assert_close(actual, expected, tolerance, what):
    worst = float(np.max(np.abs(np.asarray(actual, dtype=np.float64) - np.asarray(expected))))
    assert worst <= tolerance, f"{what}: differs by {worst}"
    return worst


# --------------------------------------------------------------------------------------------
# intents-tfidf: TfidfVectorizer + LogisticRegression as one ONNX graph
# --------------------------------------------------------------------------------------------

# sklearn's default token pattern (?u)\b\w\w+\b is "a run of two or more word characters";
# ORT's Tokenizer uses RE2, whose \w and \b are ASCII-only, so spell the word class with
# Unicode categories instead (Python's \w is letters, numbers and underscore).
TOKENEXP = r"[\p{L}\p{N}_]{2,}"
# ORT's StringNormalizer defaults to the en_US.UTF-8 locale and refuses to load where it is
# not installed (Debian images have C.UTF-8 only); C.UTF-8 lowercases every script.
LOCALE = "C.UTF-8"


def ngram_pool(vocabulary):
    """TfIdfVectorizer attributes for a sklearn vocabulary, grouped by n as skl2onnx does."""
    by_n = {}
    for term, column in vocabulary.items():
        words = term.split(" ")
        by_n.setdefault(len(words), []).append((words, column))
    pool, counts, indexes = [], [], []
    for n in range(1, max(by_n) + 1):
        counts.append(len(pool))
        for words, column in sorted(by_n.get(n, [])):
            pool.extend(words)
            indexes.append(column)
    return pool, counts, indexes


def emulate_tf(pool, counts, indexes, tokens_per_text, width, ngram_range):
    """TfIdfVectorizer's TF mode in Python, to check the attributes before saving."""
    lookup, g = {}, 0
    for k, start in enumerate(counts):
        n = k + 1
        end = counts[k + 1] if k + 1 < len(counts) else len(pool)
        for i in range(start, end, n):
            lookup[tuple(pool[i:i + n])] = indexes[g]
            g += 1
    assert g == len(indexes) == width
    out = np.zeros((len(tokens_per_text), width))
    for r, tokens in enumerate(tokens_per_text):
        for n in range(ngram_range[0], ngram_range[1] + 1):
            for i in range(len(tokens) - n + 1):
                column = lookup.get(tuple(tokens[i:i + n]))
                if column is not None:
                    out[r, column] += 1
    return out


def build_tfidf(texts, labels, train, test):
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    classifier = LogisticRegression(C=20.0, max_iter=5000)
    X_train = vectorizer.fit_transform([texts[i] for i in train])
    classifier.fit(X_train, [labels[i] for i in train])
    accuracy = accuracy_score([labels[i] for i in test],
                              classifier.predict(vectorizer.transform([texts[i] for i in test])))
    # The served model is refitted on every utterance.
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    classifier = LogisticRegression(C=20.0, max_iter=5000)
    classifier.fit(vectorizer.fit_transform(texts), labels)

    vocabulary = vectorizer.vocabulary_
    width = len(vocabulary)
    classes = [str(c) for c in classifier.classes_]
    pool, counts, indexes = ngram_pool(vocabulary)

    # Check the pool against sklearn's counts (the analyzer's unigrams are the tokens).
    unigrams = TfidfVectorizer().build_analyzer()
    sample = texts + PROBES
    emulated = emulate_tf(pool, counts, indexes, [unigrams(t) for t in sample], width, (1, 2))
    tfidf = emulated * vectorizer.idf_
    norms = np.sqrt((tfidf ** 2).sum(axis=1, keepdims=True))
    tfidf = np.divide(tfidf, norms, out=np.zeros_like(tfidf), where=norms > 0)
    assert_close(tfidf, vectorizer.transform(sample).toarray(), 1e-12, "TfIdfVectorizer pool")
    # "Runs of two or more word characters", the graph's tokenexp, finds sklearn's tokens.
    runs = re.compile(r"\w{2,}")
    for t in sample:
        assert runs.findall(t.lower()) == unigrams(t), t

    nodes = [
        helper.make_node("Reshape", ["input", "flat_shape"], ["flat"], name="flatten_input"),
        helper.make_node("StringNormalizer", ["flat"], ["normalized"], name="lowercase",
                         case_change_action="LOWER", is_case_sensitive=0, locale=LOCALE),
        helper.make_node("Tokenizer", ["normalized"], ["tokens"], name="tokenize",
                         domain="com.microsoft", mark=0, mincharnum=1, pad_value="#",
                         tokenexp=TOKENEXP),
        helper.make_node("TfIdfVectorizer", ["tokens"], ["tf"], name="ngram_counts",
                         mode="TF", min_gram_length=1, max_gram_length=2, max_skip_count=0,
                         pool_strings=pool, ngram_counts=counts, ngram_indexes=indexes),
        helper.make_node("Mul", ["tf", "idf"], ["tfidf"], name="idf_weights"),
        helper.make_node("Normalizer", ["tfidf"], ["features"], name="l2", domain="ai.onnx.ml",
                         norm="L2"),
        helper.make_node("LinearClassifier", ["features"], ["label", "probabilities"],
                         name="logistic_regression", domain="ai.onnx.ml",
                         coefficients=classifier.coef_.astype(np.float32).ravel().tolist(),
                         intercepts=classifier.intercept_.astype(np.float32).tolist(),
                         classlabels_strings=classes, multi_class=0, post_transform="SOFTMAX"),
    ]
    initializers = [
        helper.make_tensor("flat_shape", TensorProto.INT64, [1], [-1]),
        helper.make_tensor("idf", TensorProto.FLOAT, [width], vectorizer.idf_.astype(np.float32)),
    ]
    model = make_model(
        "intents_tfidf", nodes,
        [helper.make_tensor_value_info("input", TensorProto.STRING, [None, 1])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(classes)])],
        initializers,
        [helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3),
         helper.make_opsetid("com.microsoft", 1)],
        "TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression on a self-written intent corpus",
    )
    # The linear part in numpy, float32 weights as the graph holds them: equal to predict_proba.
    features = vectorizer.transform(PROBES + texts).toarray()
    logits = features @ classifier.coef_.astype(np.float32).T.astype(np.float64) \
        + classifier.intercept_.astype(np.float32)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    proba = classifier.predict_proba(vectorizer.transform(PROBES + texts))
    assert_close(softmax, proba, 1e-5, "float32 weights")

    manifest = {
        "name": "intents-tfidf",
        "description": "Classifies a customer message into one of 10 intents; TF-IDF (words and "
                       "word pairs) + logistic regression as one ONNX graph that takes the text.",
        "task": "multiclass_classification",
        "features": [{"name": "text", "type": "text", "description": "The customer's message"}],
        "classes": classes,
        "outputs": {"label": "label", "probabilities": "probabilities"},
        "metrics": {"accuracy": round(float(accuracy), 4)},
    }
    expected = {
        "labels": [str(c) for c in classifier.predict(vectorizer.transform(PROBES + texts))],
        "probabilities": proba.tolist(),
    }
    return model, manifest, expected


# --------------------------------------------------------------------------------------------
# intents-keras: Keras-style tokenizer + embedding network + label encoder
# --------------------------------------------------------------------------------------------

KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
OOV = "<OOV>"
NUM_WORDS = 1000
MAXLEN = 20
EMBED = 16


def keras_words(text):
    """keras.preprocessing.text.text_to_word_sequence with the defaults."""
    text = text.lower().translate(str.maketrans({c: " " for c in KERAS_FILTERS}))
    return [w for w in text.split(" ") if w]


def fit_keras_tokenizer(texts):
    """Tokenizer(num_words=NUM_WORDS, oov_token=OOV).fit_on_texts(texts), as Keras does it:
    count every word, sort by count (descending; a stable sort, so ties keep the order of first
    occurrence), put the OOV token first, number from 1 (0 is padding)."""
    counts = {}
    for text in texts:
        for w in keras_words(text):
            counts[w] = counts.get(w, 0) + 1
    ordered = [OOV] + [w for w, _ in sorted(counts.items(), key=lambda x: x[1], reverse=True)]
    return {w: i for i, w in enumerate(ordered, start=1)}


def keras_sequences(word_index, texts):
    oov = word_index[OOV]
    out = []
    for text in texts:
        seq = []
        for w in keras_words(text):
            i = word_index.get(w)
            if i is None or i >= NUM_WORDS:
                seq.append(oov)
            else:
                seq.append(i)
        out.append(seq)
    return out


def pad_post(sequences):
    """pad_sequences(maxlen=MAXLEN, padding='post', truncating='post')."""
    x = np.zeros((len(sequences), MAXLEN), dtype=np.int64)
    for r, s in enumerate(sequences):
        s = s[:MAXLEN]
        x[r, :len(s)] = s
    return x


def forward(E, W, b, X):
    """Embedding, mean over the non-padding positions, dense, softmax (float64 math)."""
    mask = (X > 0).astype(np.float64)
    count = np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
    pooled = (E[X] * mask[:, :, None]).sum(axis=1) / count
    logits = pooled @ W + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True), pooled, mask, count


def train_network(X, y, vocab_size, n_classes, epochs=400, lr=0.05):
    """Full-batch Adam on cross-entropy (+ a little L2), in numpy."""
    rng = np.random.default_rng(SEED)
    params = {
        "E": rng.normal(0, 0.1, (vocab_size, EMBED)),
        "W": rng.normal(0, 0.1, (EMBED, n_classes)),
        "b": np.zeros(n_classes),
    }
    params["E"][0] = 0.0
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    onehot = np.eye(n_classes)[y]
    for step in range(1, epochs + 1):
        p, pooled, mask, count = forward(params["E"], params["W"], params["b"], X)
        d_logits = (p - onehot) / len(X)
        grads = {"W": pooled.T @ d_logits + 1e-4 * params["W"], "b": d_logits.sum(axis=0)}
        d_pooled = d_logits @ params["W"].T / count
        d_E = np.zeros_like(params["E"])
        np.add.at(d_E, X, d_pooled[:, None, :] * mask[:, :, None])
        grads["E"] = d_E + 1e-4 * params["E"]
        for k, g in grads.items():
            m, v = moments[k]
            m[:] = 0.9 * m + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            params[k] -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
        params["E"][0] = 0.0
    return {k: v.astype(np.float32) for k, v in params.items()}


def keras_onnx(params, n_classes):
    E, W, b = params["E"], params["W"], params["b"]
    nodes = [
        helper.make_node("Gather", ["embedding", "input"], ["embedded"], name="embedding_lookup"),
        helper.make_node("Greater", ["input", "zero"], ["is_token"], name="padding_mask"),
        helper.make_node("Cast", ["is_token"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["embedded", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask", "axis1"], ["count"], keepdims=1),
        helper.make_node("Max", ["count", "one"], ["safe_count"]),
        helper.make_node("Div", ["summed", "safe_count"], ["pooled"], name="mean_pooling"),
        helper.make_node("Gemm", ["pooled", "dense_w", "dense_b"], ["logits"], name="dense"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    initializers = [
        helper.make_tensor("embedding", TensorProto.FLOAT, E.shape, E.ravel()),
        helper.make_tensor("dense_w", TensorProto.FLOAT, W.shape, W.ravel()),
        helper.make_tensor("dense_b", TensorProto.FLOAT, b.shape, b),
        helper.make_tensor("zero", TensorProto.INT64, [], [0]),
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
        helper.make_tensor("axis2", TensorProto.INT64, [1], [2]),
    ]
    return make_model(
        "intents_keras", nodes,
        [helper.make_tensor_value_info("input", TensorProto.INT64, [None, MAXLEN])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, n_classes])],
        initializers, [helper.make_opsetid("", 15)],
        f"Embedding({E.shape[0]}, {EMBED}) + masked mean pooling + Dense({n_classes}) + softmax "
        "over Keras-tokenized, post-padded index sequences",
    )


def build_keras(texts, labels, train, test):
    encoder = LabelEncoder().fit(labels)
    classes = [str(c) for c in encoder.classes_]
    y = encoder.transform(labels)

    # Held-out accuracy from a model fitted on the training split only.
    index = fit_keras_tokenizer([texts[i] for i in train])
    vocab = min(NUM_WORDS, len(index) + 1)
    X_all = pad_post(keras_sequences(index, texts))
    held = train_network(X_all[train], y[train], vocab, len(classes))
    p_test, *_ = forward(held["E"].astype(np.float64), held["W"].astype(np.float64),
                         held["b"].astype(np.float64), X_all[test])
    accuracy = accuracy_score(y[test], p_test.argmax(axis=1))

    # The served model: tokenizer and network fitted on every utterance.
    word_index = fit_keras_tokenizer(texts)
    vocab = min(NUM_WORDS, len(word_index) + 1)
    X = pad_post(keras_sequences(word_index, texts))
    params = train_network(X, y, vocab, len(classes))
    train_accuracy = accuracy_score(y, forward(*(params[k].astype(np.float64) for k in "EWb"), X)[0].argmax(axis=1))
    assert train_accuracy > 0.95, train_accuracy

    tokenizer = {
        "word_index": word_index,
        "num_words": NUM_WORDS,
        "oov_token": OOV,
        "filters": KERAS_FILTERS,
        "lower": True,
        "split": " ",
        "char_level": False,
    }
    manifest = {
        "name": "intents-keras",
        "description": "Classifies a customer message into one of 10 intents; Keras-style "
                       "tokenizer, embedding + mean pooling + dense network, label encoder.",
        "task": "multiclass_classification",
        "features": [{"name": "text", "type": "text", "description": "The customer's message"}],
        "preprocessing": [{"type": "keras_tokenizer", "artifact": "tokenizer.json",
                           "maxlen": MAXLEN, "padding": "post", "truncating": "post",
                           "input": "input"}],
        "postprocessing": [{"type": "label_decoder", "artifact": "labels.json",
                            "output": "probabilities"}],
        "metrics": {"accuracy": round(float(accuracy), 4)},
    }
    sample = PROBES + texts
    sequences = keras_sequences(word_index, sample)
    probabilities, *_ = forward(*(params[k].astype(np.float64) for k in "EWb"), pad_post(sequences))
    expected = {
        "sequences": pad_post(sequences).tolist(),
        "labels": [classes[i] for i in probabilities.argmax(axis=1)],
        "probabilities": probabilities.tolist(),
    }
    return keras_onnx(params, len(classes)), tokenizer, {"classes": classes}, manifest, expected


def save_version(name, model, manifest, artifacts):
    folder = EXAMPLES / "models" / name / "1"
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "model.yaml").write_text(
        yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100))
    for file_name, body in artifacts.items():
        (folder / file_name).write_text(
            json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main():
    texts, labels = corpus()
    train, test = train_test_split(np.arange(len(texts)), test_size=0.25, random_state=SEED,
                                   stratify=labels)

    tfidf_model, tfidf_manifest, tfidf_expected = build_tfidf(texts, labels, train, test)
    save_version("intents-tfidf", tfidf_model, tfidf_manifest, {})
    print(f"built intents-tfidf: {tfidf_manifest['metrics']}")

    keras_model, tokenizer, label_list, keras_manifest, keras_expected = build_keras(
        texts, labels, train, test)
    save_version("intents-keras", keras_model, keras_manifest,
                 {"tokenizer.json": tokenizer, "labels.json": label_list})
    print(f"built intents-keras: {keras_manifest['metrics']}")

    (EXAMPLES / "requests").mkdir(exist_ok=True)
    (EXAMPLES / "requests" / "intents.pega.json").write_text(json.dumps(
        {"modelIdentifier": "intents-tfidf", "text": "where is my order? it's late"}) + "\n")
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps({
        "texts": PROBES + texts,
        "tfidf": tfidf_expected,
        "keras": keras_expected,
    }, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
