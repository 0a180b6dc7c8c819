"""Build Plinth's example models.

Run from the repository root with Debian's Python, which has scikit-learn, onnx and numpy
(skl2onnx is not needed: the ONNX graphs are written by hand with ai.onnx.ml operators):

    /usr/bin/python3 examples/build-models.py

It rebuilds, deterministically (fixed seeds, fixed splits):

    examples/models/credit-risk/1/    logistic regression on synthetic German-credit-like data,
                                      one ONNX input per column (string or float)
    examples/models/iris/1/           random forest, sklearn's iris data, string labels
    examples/models/diabetes/1/       gradient-boosted regressor, sklearn's diabetes data
    examples/models/breast-cancer/1/  ../shared/fixtures/rf_breast_cancer.onnx, copied
    examples/data/*.csv               a few input rows for batch jobs and demos
    examples/requests/*.json          ready-made request bodies

Each model folder holds model.onnx and model.yaml (the manifest Plinth reads: task, features in
input order, classes, output names, held-out metrics).
"""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

EXAMPLES = Path(__file__).resolve().parent
SHARED_FIXTURES = EXAMPLES.parent.parent / "shared" / "fixtures"

# onnxruntime-node rejects IR versions newer than it knows; 8 with these opsets loads everywhere.
IR_VERSION = 8
OPSETS = [helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3)]
SEED = 0


@dataclass
class Feature:
    name: str
    type: str  # numeric | categorical
    description: str
    categories: list = field(default_factory=list)


@dataclass
class Built:
    """Everything one example model writes to disk."""

    name: str
    onnx_model: object  # an onnx.ModelProto, or the Path of an existing .onnx file to copy
    manifest: dict
    csv_rows: list = field(default_factory=list)  # header first; empty means no CSV
    requests: dict = field(default_factory=dict)  # file name -> JSON body
    # The fitted estimator and its full data set, kept for anyone checking the ONNX graph
    # against sklearn (main() does not need them).
    estimator: object = None
    X: object = None


# --------------------------------------------------------------------------------------------
# ONNX helpers
# --------------------------------------------------------------------------------------------


def make_model(name, nodes, inputs, outputs, doc):
    graph = helper.make_graph(nodes, name, inputs, outputs)
    model = helper.make_model(graph, opset_imports=OPSETS, producer_name="plinth-examples")
    model.ir_version = IR_VERSION
    model.doc_string = doc
    onnx.checker.check_model(model)
    return model


def as_float32_threshold(threshold):
    """The largest float32 not above a float64 split threshold.

    sklearn compares float32 features with float64 thresholds; rounding a threshold to the
    nearest float32 could land on a feature value just above it and send that row the wrong
    way. Rounding down keeps `x <= t` exactly equivalent for every float32 x.
    """
    t32 = np.float32(threshold)
    if float(t32) > threshold:
        t32 = np.nextafter(t32, np.float32(-np.inf))
    return float(t32)


def tree_ensemble_attributes(trees, leaf_weights, prefix):
    """ai.onnx.ml TreeEnsemble* node attributes for fitted sklearn trees.

    trees: sklearn `Tree` objects (estimator.tree_), one ONNX tree each.
    leaf_weights(tree, node): (class or target id, weight) pairs a leaf contributes.
    prefix: "class" for TreeEnsembleClassifier, "target" for TreeEnsembleRegressor.
    """
    nodes = {k: [] for k in ("treeids", "nodeids", "featureids", "values", "modes",
                             "truenodeids", "falsenodeids")}
    leaves = {k: [] for k in ("treeids", "nodeids", "ids", "weights")}
    for tree_id, tree in enumerate(trees):
        for node in range(tree.node_count):
            is_leaf = tree.children_left[node] == -1
            nodes["treeids"].append(tree_id)
            nodes["nodeids"].append(node)
            if is_leaf:
                nodes["featureids"].append(0)
                nodes["values"].append(0.0)
                nodes["modes"].append("LEAF")
                nodes["truenodeids"].append(0)
                nodes["falsenodeids"].append(0)
                for target, weight in leaf_weights(tree, node):
                    leaves["treeids"].append(tree_id)
                    leaves["nodeids"].append(node)
                    leaves["ids"].append(target)
                    leaves["weights"].append(float(weight))
            else:
                # sklearn sends x <= threshold to the left child.
                nodes["featureids"].append(int(tree.feature[node]))
                nodes["values"].append(as_float32_threshold(tree.threshold[node]))
                nodes["modes"].append("BRANCH_LEQ")
                nodes["truenodeids"].append(int(tree.children_left[node]))
                nodes["falsenodeids"].append(int(tree.children_right[node]))
    attributes = {f"nodes_{k}": v for k, v in nodes.items()}
    attributes.update({f"{prefix}_{k}": v for k, v in leaves.items()})
    return attributes


def evaluate_tree_ensemble(node, X):
    """Sum of leaf weights per row and class/target for a TreeEnsemble* node, in numpy.

    Checks the graphs this script writes against sklearn before saving them, and the class
    order of the copied breast-cancer forest, without needing onnxruntime in Python.
    Assumes node 0 of every tree is its root, as sklearn and skl2onnx number them.
    """
    a = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
    prefix = "class" if node.op_type == "TreeEnsembleClassifier" else "target"
    index = {(t, n): i for i, (t, n) in enumerate(zip(a["nodes_treeids"], a["nodes_nodeids"]))}
    weights = {}
    for t, n, target, w in zip(a[f"{prefix}_treeids"], a[f"{prefix}_nodeids"],
                               a[f"{prefix}_ids"], a[f"{prefix}_weights"]):
        weights.setdefault((t, n), []).append((target, w))
    if prefix == "class":
        n_out = len(a.get("classlabels_strings") or a["classlabels_int64s"])
    else:
        n_out = a["n_targets"]
    out = np.tile(np.asarray(a.get("base_values", [0.0] * n_out), dtype=np.float64), (len(X), 1))
    X32 = np.asarray(X, dtype=np.float32)
    for row, x in enumerate(X32):
        for tree in sorted(set(a["nodes_treeids"])):
            i = index[(tree, 0)]
            while a["nodes_modes"][i] != b"LEAF":
                assert a["nodes_modes"][i] == b"BRANCH_LEQ", a["nodes_modes"][i]
                go_true = x[a["nodes_featureids"][i]] <= np.float32(a["nodes_values"][i])
                i = index[(tree, a["nodes_truenodeids"][i] if go_true
                           else a["nodes_falsenodeids"][i])]
            for target, w in weights.get((tree, a["nodes_nodeids"][i]), []):
                out[row, target] += w
    return out


def float_input(name, width):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, width])


# --------------------------------------------------------------------------------------------
# Manifest and file helpers
# --------------------------------------------------------------------------------------------


def feature_entries(features, defaults):
    """Manifest `features` list; defaults maps feature name -> default (may omit some)."""
    entries = []
    for f in features:
        entry = {"name": f.name, "type": f.type}
        if f.name in defaults:
            entry["default"] = defaults[f.name]
        entry["description"] = f.description
        entries.append(entry)
    return entries


def rounded(metrics):
    return {k: round(float(v), 4) for k, v in metrics.items()}


def numeric_median(column):
    """A median that reads naturally in a manifest: an int for integer columns."""
    median = float(np.median(column))
    return int(round(median)) if np.all(np.mod(column, 1) == 0) else round(median, 6)


def write_csv(path, rows):
    # Values here are plain numbers and category names without commas or quotes.
    path.write_text("".join(",".join(str(v) for v in row) + "\n" for row in rows))


def write_json(path, body):
    path.write_text(json.dumps(body, indent=2) + "\n")


def write_built(built):
    version_dir = EXAMPLES / "models" / built.name / "1"
    version_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(built.onnx_model, Path):
        shutil.copyfile(built.onnx_model, version_dir / "model.onnx")
    else:
        onnx.save(built.onnx_model, str(version_dir / "model.onnx"))
    (version_dir / "model.yaml").write_text(
        yaml.safe_dump(built.manifest, sort_keys=False, allow_unicode=True, width=100))
    if built.csv_rows:
        (EXAMPLES / "data").mkdir(exist_ok=True)
        write_csv(EXAMPLES / "data" / f"{built.name}.csv", built.csv_rows)
    for file_name, body in built.requests.items():
        (EXAMPLES / "requests").mkdir(exist_ok=True)
        write_json(EXAMPLES / "requests" / file_name, body)


def records(feature_names, X, rows):
    """Records keyed by feature name; floats trimmed so they read as in the source data."""
    return [{n: round(float(v), 6) for n, v in zip(feature_names, X[r])} for r in rows]


# --------------------------------------------------------------------------------------------
# credit-risk: synthetic German-credit-like data, logistic regression
# --------------------------------------------------------------------------------------------

# Column order, types, categories and (for categoricals) sampling frequencies follow IBM Watson
# ML's credit-risk tutorial and the German credit data it derives from.
CREDIT_COLUMNS = [
    ("CheckingStatus", "Status of the applicant's checking account",
     {"no_checking": .39, "less_0": .27, "0_to_200": .27, "greater_200": .07}),
    ("LoanDuration", "Duration of the loan in months", None),
    ("CreditHistory", "Repayment history on previous and existing credits",
     {"credits_paid_to_date": .53, "prior_payments_delayed": .09, "outstanding_credit": .29,
      "all_credits_paid_back": .05, "no_credits": .04}),
    ("LoanPurpose", "What the loan is for",
     {"car_new": .23, "car_used": .10, "furniture": .18, "radio_tv": .28, "appliances": .01,
      "repairs": .02, "education": .05, "vacation": .01, "retraining": .01, "business": .10,
      "other": .01}),
    ("LoanAmount", "Amount borrowed", None),
    ("ExistingSavings", "Balance of the applicant's savings accounts",
     {"less_100": .60, "100_to_500": .10, "500_to_1000": .06, "greater_1000": .05,
      "unknown": .19}),
    ("EmploymentDuration", "Years with the current employer",
     {"unemployed": .06, "less_1": .17, "1_to_4": .34, "4_to_7": .17, "greater_7": .26}),
    ("InstallmentPercent", "Installment rate as a percentage of disposable income", None),
    ("Sex", "Applicant's sex", {"female": .31, "male": .69}),
    ("OthersOnLoan", "Other debtors or guarantors on the loan",
     {"none": .91, "co-applicant": .04, "guarantor": .05}),
    ("CurrentResidenceDuration", "Years at the current residence", None),
    ("OwnsProperty", "Most valuable property the applicant owns",
     {"real_estate": .28, "savings_insurance": .23, "car_other": .33, "unknown": .16}),
    ("Age", "Applicant's age in years", None),
    ("InstallmentPlans", "Other installment plans the applicant has",
     {"none": .81, "stores": .05, "bank": .14}),
    ("Housing", "Applicant's housing situation", {"own": .71, "rent": .18, "free": .11}),
    ("ExistingCreditsCount", "Number of existing credits at this bank", None),
    ("Job", "Applicant's employment category",
     {"unemployed": .02, "unskilled": .20, "skilled": .63, "management_self-employed": .15}),
    ("Dependents", "Number of people the applicant provides for", None),
    ("Telephone", "Whether a telephone is registered in the applicant's name",
     {"none": .60, "yes": .40}),
    ("ForeignWorker", "Whether the applicant is a foreign worker", {"yes": .96, "no": .04}),
]
CREDIT_FEATURES = [
    Feature(name, "categorical" if freq else "numeric", desc, list(freq) if freq else [])
    for name, desc, freq in CREDIT_COLUMNS
]
CREDIT_CLASSES = ["No Risk", "Risk"]

# Log-odds shifts towards "Risk"; the label depends on these few columns plus noise.
CREDIT_RISK_EFFECTS = {
    "CheckingStatus": {"no_checking": -1.2, "less_0": 0.9, "0_to_200": 0.4, "greater_200": -0.4},
    "CreditHistory": {"credits_paid_to_date": 0.0, "prior_payments_delayed": 0.8,
                      "outstanding_credit": -0.3, "all_credits_paid_back": 0.9,
                      "no_credits": 1.0},
    "ExistingSavings": {"less_100": 0.4, "100_to_500": 0.1, "500_to_1000": -0.3,
                        "greater_1000": -0.6, "unknown": -0.5},
    "EmploymentDuration": {"unemployed": 0.5, "less_1": 0.4, "1_to_4": 0.0, "4_to_7": -0.3,
                           "greater_7": -0.2},
    "OthersOnLoan": {"none": 0.0, "co-applicant": 0.3, "guarantor": -0.7},
}


def synthesize_credit(rng, n):
    """n applicants as a dict of column -> array, plus a 0/1 risk label."""
    cols = {}
    for name, _, freq in CREDIT_COLUMNS:
        if freq:
            p = np.array(list(freq.values()))
            cols[name] = rng.choice(list(freq), size=n, p=p / p.sum())

    def integers(values, p):
        return rng.choice(values, size=n, p=p)

    cols["LoanDuration"] = np.clip(np.round(rng.gamma(3.0, 7.0, n)), 4, 72).astype(int)
    # Longer loans are for larger amounts, as in the real data.
    amount = 160 * cols["LoanDuration"] * rng.lognormal(0.0, 0.45, n)
    cols["LoanAmount"] = np.clip(np.round(amount), 250, 20000).astype(int)
    cols["InstallmentPercent"] = integers([1, 2, 3, 4], [.14, .23, .16, .47])
    cols["CurrentResidenceDuration"] = integers([1, 2, 3, 4], [.13, .31, .15, .41])
    cols["Age"] = np.clip(np.round(19 + rng.gamma(2.0, 8.0, n)), 19, 75).astype(int)
    cols["ExistingCreditsCount"] = integers([1, 2, 3, 4], [.63, .33, .03, .01])
    cols["Dependents"] = integers([1, 2], [.85, .15])

    logit = (-1.7
             + 0.06 * (cols["LoanDuration"] - 20)
             + 0.00015 * (cols["LoanAmount"] - 3000)
             + 0.2 * (cols["InstallmentPercent"] - 3)
             - 0.035 * (cols["Age"] - 35)
             + rng.normal(0.0, 0.5, n))
    for name, effect in CREDIT_RISK_EFFECTS.items():
        logit += 1.6 * np.array([effect[v] for v in cols[name]])
    risk = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return cols, risk


def credit_pipeline():
    numeric = [i for i, f in enumerate(CREDIT_FEATURES) if f.type == "numeric"]
    categorical = [i for i, f in enumerate(CREDIT_FEATURES) if f.type == "categorical"]
    # Unseen categories encode to all zeros, exactly what OneHotEncoder(zeros=1) does in ONNX.
    encoder = OneHotEncoder(categories=[CREDIT_FEATURES[i].categories for i in categorical],
                            handle_unknown="ignore", sparse_output=False)
    features = ColumnTransformer([("numeric", StandardScaler(), numeric),
                                  ("categorical", encoder, categorical)])
    return Pipeline([("features", features),
                     ("model", LogisticRegression(max_iter=1000))])


def credit_onnx(pipeline):
    """One input per column -> Scaler / OneHotEncoder -> Concat -> LinearClassifier.

    The concatenation order (scaled numerics, then one-hots, each in column order) is the
    ColumnTransformer's, so the fitted coefficients apply unchanged.
    """
    transformer = pipeline.named_steps["features"]
    scaler = transformer.named_transformers_["numeric"]
    encoder = transformer.named_transformers_["categorical"]
    logreg = pipeline.named_steps["model"]
    numeric = [f for f in CREDIT_FEATURES if f.type == "numeric"]
    categorical = [f for f in CREDIT_FEATURES if f.type == "categorical"]

    inputs = [helper.make_tensor_value_info(
        f.name, TensorProto.FLOAT if f.type == "numeric" else TensorProto.STRING, [None, 1])
        for f in CREDIT_FEATURES]
    nodes = [
        helper.make_node("Concat", [f.name for f in numeric], ["numeric_raw"], axis=1),
        helper.make_node("Scaler", ["numeric_raw"], ["numeric_scaled"], domain="ai.onnx.ml",
                         offset=scaler.mean_.tolist(), scale=(1.0 / scaler.scale_).tolist()),
    ]
    for f, categories in zip(categorical, encoder.categories_):
        # Emits [N, 1, C]: the one-hots are joined on the last axis, then flattened to [N, C].
        nodes.append(helper.make_node("OneHotEncoder", [f.name], [f"{f.name}_onehot"],
                                      domain="ai.onnx.ml", cats_strings=list(categories),
                                      zeros=1))
    nodes += [
        helper.make_node("Concat", [f"{f.name}_onehot" for f in categorical],
                         ["categorical_3d"], axis=2),
        helper.make_node("Flatten", ["categorical_3d"], ["categorical_onehot"], axis=1),
        helper.make_node("Concat", ["numeric_scaled", "categorical_onehot"], ["features"],
                         axis=1),
        linear_classifier_node(logreg, CREDIT_CLASSES),
    ]
    outputs = [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
               helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])]
    return make_model("credit_risk", nodes, inputs, outputs,
                      "Logistic regression on synthetic German-credit-like data")


def linear_classifier_node(logreg, class_names):
    """LinearClassifier reproducing a binary LogisticRegression's predict_proba.

    sklearn keeps one coefficient row (the "Risk" log-odds z). Two rows, -z and +z, with an
    element-wise LOGISTIC give [sigmoid(-z), sigmoid(z)] = [1 - p, p], the same [N, 2] as
    predict_proba, without relying on how a runtime widens a single-row binary classifier.
    """
    coef = logreg.coef_[0]
    intercept = float(logreg.intercept_[0])
    return helper.make_node(
        "LinearClassifier", ["features"], ["label", "probabilities"], domain="ai.onnx.ml",
        classlabels_strings=class_names,
        coefficients=np.concatenate([-coef, coef]).tolist(),
        intercepts=[-intercept, intercept],
        multi_class=0, post_transform="LOGISTIC")


def build_credit_risk():
    rng = np.random.default_rng(SEED)
    cols, risk = synthesize_credit(rng, 1000)
    names = [f.name for f in CREDIT_FEATURES]
    X = np.empty((len(risk), len(names)), dtype=object)
    for j, name in enumerate(names):
        X[:, j] = cols[name]
    X_train, X_test, y_train, y_test = train_test_split(
        X, risk, test_size=0.25, random_state=SEED, stratify=risk)
    pipeline = credit_pipeline().fit(X_train, y_train)
    proba = pipeline.predict_proba(X_test)[:, 1]

    defaults = {}
    for j, f in enumerate(CREDIT_FEATURES):
        column = X_train[:, j]
        if f.type == "numeric":
            defaults[f.name] = numeric_median(column.astype(float))
        else:
            values, counts = np.unique(column.astype(str), return_counts=True)
            defaults[f.name] = str(values[np.argmax(counts)])
    manifest = {
        "name": "credit-risk",
        "description": "Predicts whether a loan applicant is a credit risk; logistic regression "
                       "trained on synthetic German-credit-like applicants.",
        "task": "binary_classification",
        "features": feature_entries(CREDIT_FEATURES, defaults),
        "classes": CREDIT_CLASSES,
        "outputs": {"label": "label", "probabilities": "probabilities"},
        "metrics": rounded({"accuracy": accuracy_score(y_test, proba >= 0.5),
                            "auc": roc_auc_score(y_test, proba)}),
        "primary_metric": "auc",
    }
    wml_values = ["no_checking", 13, "credits_paid_to_date", "car_new", 1343, "100_to_500",
                  "1_to_4", 2, "female", "none", 3, "savings_insurance", 46, "none", "own", 2,
                  "skilled", 1, "none", "yes"]
    return Built(
        name="credit-risk",
        onnx_model=credit_onnx(pipeline),
        manifest=manifest,
        csv_rows=[names] + X[:50].tolist(),
        requests={"credit-risk.wml.json":
                  {"input_data": [{"fields": names, "values": [wml_values]}]}},
        estimator=pipeline,
        X=X,
    )


# --------------------------------------------------------------------------------------------
# iris: random forest -> TreeEnsembleClassifier
# --------------------------------------------------------------------------------------------

IRIS_FEATURES = [
    Feature("sepal_length", "numeric", "Sepal length in centimetres"),
    Feature("sepal_width", "numeric", "Sepal width in centimetres"),
    Feature("petal_length", "numeric", "Petal length in centimetres"),
    Feature("petal_width", "numeric", "Petal width in centimetres"),
]


def forest_classifier_onnx(forest, class_names, n_features, name, doc):
    """TreeEnsembleClassifier whose scores equal RandomForestClassifier.predict_proba.

    predict_proba averages each tree's leaf class fractions, so every leaf weight is its class
    fraction divided by the number of trees, summed with no post-transform.
    """
    n_trees = len(forest.estimators_)

    def leaf_weights(tree, node):
        counts = tree.value[node, 0]
        fractions = counts / counts.sum()
        return [(c, f / n_trees) for c, f in enumerate(fractions) if f > 0]

    attributes = tree_ensemble_attributes([e.tree_ for e in forest.estimators_],
                                          leaf_weights, "class")
    node = helper.make_node("TreeEnsembleClassifier", ["input"], ["label", "probabilities"],
                            domain="ai.onnx.ml", classlabels_strings=class_names,
                            post_transform="NONE", **attributes)
    outputs = [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
               helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                             [None, len(class_names)])]
    return make_model(name, [node], [float_input("input", n_features)], outputs, doc)


def build_iris():
    data = load_iris()
    X, y = data.data, data.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=SEED, stratify=y)
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)
    forest.fit(X_train, y_train)
    class_names = [str(c) for c in data.target_names]
    model = forest_classifier_onnx(forest, class_names, X.shape[1], "iris",
                                   "Random forest (10 trees) on sklearn's iris data")
    assert_close(evaluate_tree_ensemble(model.graph.node[0], X), forest.predict_proba(X),
                 1e-6, "iris")

    names = [f.name for f in IRIS_FEATURES]
    manifest = {
        "name": "iris",
        "description": "Predicts the species of an iris flower from its sepal and petal "
                       "measurements; random forest trained on sklearn's iris data.",
        "task": "multiclass_classification",
        "features": feature_entries(IRIS_FEATURES, {
            n: numeric_median(X_train[:, j]) for j, n in enumerate(names)}),
        "classes": class_names,
        "outputs": {"label": "label", "probabilities": "probabilities"},
        "metrics": rounded({"accuracy": accuracy_score(y_test, forest.predict(X_test))}),
        "primary_metric": "accuracy",
    }
    # Spread the sample rows over all three species (the data is sorted by species).
    sample = np.linspace(0, len(X) - 1, 20).astype(int)
    return Built(
        name="iris",
        onnx_model=model,
        manifest=manifest,
        csv_rows=[names] + [[round(float(v), 6) for v in X[r]] for r in sample],
        requests={"iris.records.json": records(names, X, [0, 100])},
        estimator=forest,
        X=X,
    )


# --------------------------------------------------------------------------------------------
# diabetes: gradient boosting -> TreeEnsembleRegressor
# --------------------------------------------------------------------------------------------

DIABETES_FEATURES = [
    Feature("age", "numeric", "Age (mean-centred and scaled)"),
    Feature("sex", "numeric", "Sex (mean-centred and scaled)"),
    Feature("bmi", "numeric", "Body mass index (mean-centred and scaled)"),
    Feature("bp", "numeric", "Average blood pressure (mean-centred and scaled)"),
    Feature("s1", "numeric", "Total serum cholesterol (tc, mean-centred and scaled)"),
    Feature("s2", "numeric", "Low-density lipoproteins (ldl, mean-centred and scaled)"),
    Feature("s3", "numeric", "High-density lipoproteins (hdl, mean-centred and scaled)"),
    Feature("s4", "numeric", "Total cholesterol / HDL (tch, mean-centred and scaled)"),
    Feature("s5", "numeric", "Log of serum triglycerides (ltg, mean-centred and scaled)"),
    Feature("s6", "numeric", "Blood sugar level (glu, mean-centred and scaled)"),
]


def boosting_regressor_onnx(gbr, n_features, output, name, doc):
    """TreeEnsembleRegressor equal to a squared-error GradientBoostingRegressor.predict.

    predict = init (the training mean) + learning_rate * sum of tree outputs, so the init
    becomes base_values and each leaf value is pre-multiplied by the learning rate.
    """
    def leaf_weights(tree, node):
        return [(0, gbr.learning_rate * tree.value[node, 0, 0])]

    attributes = tree_ensemble_attributes([e.tree_ for e in gbr.estimators_[:, 0]],
                                          leaf_weights, "target")
    base = float(np.ravel(gbr.init_.predict(np.zeros((1, n_features))))[0])
    node = helper.make_node("TreeEnsembleRegressor", ["input"], [output], domain="ai.onnx.ml",
                            n_targets=1, base_values=[base], aggregate_function="SUM",
                            post_transform="NONE", **attributes)
    outputs = [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, 1])]
    return make_model(name, [node], [float_input("input", n_features)], outputs, doc)


def build_diabetes():
    data = load_diabetes()
    X, y = data.data, data.target
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                        random_state=SEED)
    gbr = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=0)
    gbr.fit(X_train, y_train)
    model = boosting_regressor_onnx(gbr, X.shape[1], "variable", "diabetes",
                                    "Gradient boosting (50 trees) on sklearn's diabetes data")
    assert_close(evaluate_tree_ensemble(model.graph.node[0], X)[:, 0], gbr.predict(X),
                 1e-4, "diabetes")

    names = [f.name for f in DIABETES_FEATURES]
    predicted = gbr.predict(X_test)
    manifest = {
        "name": "diabetes",
        "description": "Predicts disease progression one year after baseline; gradient "
                       "boosting trained on sklearn's diabetes data.",
        "task": "regression",
        "features": feature_entries(DIABETES_FEATURES, {
            n: numeric_median(X_train[:, j]) for j, n in enumerate(names)}),
        "outputs": {"value": "variable"},
        "metrics": rounded({"r2": r2_score(y_test, predicted),
                            "rmse": np.sqrt(mean_squared_error(y_test, predicted))}),
        "primary_metric": "r2",
    }
    return Built(
        name="diabetes",
        onnx_model=model,
        manifest=manifest,
        requests={"diabetes.records.json": records(names, X, [0])},
        estimator=gbr,
        X=X,
    )


# --------------------------------------------------------------------------------------------
# breast-cancer: the shared random-forest fixture, copied with a manifest
# --------------------------------------------------------------------------------------------


def build_breast_cancer():
    source = SHARED_FIXTURES / "rf_breast_cancer.onnx"
    names = (SHARED_FIXTURES / "breast_cancer.csv").read_text().splitlines()[0].split(",")
    forest = next(n for n in onnx.load(str(source)).graph.node
                  if n.op_type == "TreeEnsembleClassifier")

    # The graph's labels are int64 0/1; the manifest names them. The CSV holds sklearn's rows
    # in sklearn's order, where target 0 is malignant: check the forest agrees before saying so.
    data = load_breast_cancer()
    assert len(names) == data.data.shape[1] == 30
    assert list(data.target_names) == ["malignant", "benign"]
    predicted = evaluate_tree_ensemble(forest, data.data).argmax(axis=1)
    assert accuracy_score(data.target, predicted) > 0.9, "class order is not malignant, benign"

    features = [Feature(n, "numeric", n.replace("_", " ").capitalize() + " of the cell nuclei")
                for n in names]
    # No metrics: the forest was trained on all 569 rows (it scores 1.0 on them), so no
    # held-out figure can be computed for it.
    manifest = {
        "name": "breast-cancer",
        "description": "Predicts whether a breast mass is malignant or benign from 30 cell-"
                       "nucleus measurements; random forest (100 trees) on sklearn's "
                       "breast-cancer data.",
        "task": "binary_classification",
        "features": feature_entries(features, {
            n: numeric_median(data.data[:, j]) for j, n in enumerate(names)}),
        "classes": ["malignant", "benign"],
        "outputs": {"label": "label", "probabilities": "probabilities"},
    }
    return Built(name="breast-cancer", onnx_model=source, manifest=manifest)


def assert_close(actual, expected, tolerance, what):
    worst = float(np.max(np.abs(np.asarray(actual) - np.asarray(expected))))
    assert worst <= tolerance, f"{what}: ONNX graph differs from sklearn by {worst}"


BUILDERS = (build_credit_risk, build_iris, build_diabetes, build_breast_cancer)


def main():
    for build in BUILDERS:
        built = build()
        write_built(built)
        print(f"built {built.name}: {built.manifest.get('metrics', 'no held-out metrics')}")


if __name__ == "__main__":
    main()
