"""The default offline encoder: ConSE mixed with caption transfer from openly licensed captioned images.

ConSE alone (:mod:`mmdial_retrieval.offline_encoder`) puts most images near the mean of the ImageNet class names:
clip art and symbols give spread-out class probabilities. This encoder adds what ImageNet classes cannot say.
For an image with EfficientNet-Lite0 pooled features ``f`` and class probabilities ``p``:

1. ``conse = normalize(p @ C)`` (C: MiniLM embeddings of the class names, as in ConSE);
2. ``g = normalize((f - mu) @ P)``: ``f`` centred and reduced by a PCA ``P`` fitted on the training images, each
   component divided by its standard deviation to the power ``whiten`` (1: whitened, so the neighbours are not
   found in the first few directions alone);
3. caption transfer: the ``k`` training images whose ``g`` is closest, weighted by ``softmax(cosine / t)``, give
   ``knn = normalize(sum_i w_i * e(caption_i))`` (``e``: MiniLM);
4. ``v = normalize(normalize(alpha * conse + (1 - alpha) * knn) - beta * m)`` with ``m`` the mean of the training
   images' own mixed vectors: half-centring (``beta = 0.5``) removes the direction every image shares.

Texts are MiniLM embeddings, as for ConSE, so text vectors are the same in both encoders. ``whiten``, ``alpha``,
``k`` and ``t`` are chosen by text->image Recall@10 on the captions of held-out groups of training images (whole
openclipart folders, Unicode blocks: :func:`train_offline_encoder`); Tux Paint, the evaluation pool, is never
read. The training images are listed in :mod:`mmdial_retrieval.training_images`. The weights file holds ``mu``, ``P``, the gallery codes, the caption
embeddings, ``m`` and the chosen settings, with the training data's digest and a SHA-256 of every array.

Example:
    >>> enc = get_encoder("offline")  # doctest: +SKIP
    >>> enc.encoder_id  # doctest: +SKIP
    'offline:knn-v2+3f9a...'

The model and its weights file are :mod:`.knn_encoder`, the training :mod:`.knn_training`; both re-exported here.
"""

from __future__ import annotations

from mmdial_retrieval.knn_encoder import MAX_PIXELS as MAX_PIXELS
from mmdial_retrieval.knn_encoder import RECIPE_VERSION as RECIPE_VERSION
from mmdial_retrieval.knn_encoder import SHIPPED_WEIGHTS as SHIPPED_WEIGHTS
from mmdial_retrieval.knn_encoder import KnnSettings as KnnSettings
from mmdial_retrieval.knn_encoder import KnnWeights as KnnWeights
from mmdial_retrieval.knn_encoder import OfflineKnnEncoder as OfflineKnnEncoder
from mmdial_retrieval.knn_encoder import backbone_outputs as backbone_outputs
from mmdial_retrieval.knn_encoder import load_weights as load_weights
from mmdial_retrieval.knn_encoder import weights_digest as weights_digest
from mmdial_retrieval.knn_training import TrainResult as TrainResult
from mmdial_retrieval.knn_training import extract_features as extract_features
from mmdial_retrieval.knn_training import train_offline_encoder as train_offline_encoder
