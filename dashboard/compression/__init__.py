"""Compression with a learned code: sizes in values and bytes, AE/VAE/PCA codecs, rate-distortion, JPEG and PNG.

`from dashboard import compression` is the face that pages, the benchmark, the tour and notebooks use, over five
modules: the learned codecs and their sizes, error against code size, 3D views of the codes, the comparison with
general codecs in bytes, and the probe images unlike the training digits. Charts live in
dashboard.viz.compression_charts.
"""

from dashboard.compression.codecs import (
    BYTES_PER_CODE_VALUE,
    CODE_DTYPE,
    CODEC_METHODS,
    LATENT_SIZES,
    METHODS,
    NETWORK_FAMILIES,
    Codec,
    CodecsByK,
    ModelLoader,
    NetworkCodec,
    PcaCodec,
    SizeReport,
    all_codecs,
    code_bytes,
    codecs_for,
    decoder_bytes,
    png_bytes,
    size_report,
    size_table,
    to_uint8,
    value_ratio,
)
from dashboard.compression.general_codecs import (
    DEFAULT_TARGET_PSNR,
    JPEG_QUALITIES,
    CodecComparison,
    CodecPoint,
    ProbeExample,
    bytes_to_reach,
    compare_codecs,
    comparison_summary,
    jpeg_decoded,
    jpeg_point,
    learned_points,
    majority_winner,
    png_point,
    probe_comparisons,
    probe_example,
    typical_example,
)
from dashboard.compression.latent_space import PROJECTIONS, LatentView, TsneConfig, latent_view, project_3d
from dashboard.compression.probes import LETTER_STROKES, PROBE_KINDS, printed_digits, probe_images
from dashboard.compression.rate_distortion import (
    MethodReconstruction,
    ReconstructionBatch,
    SingleReconstruction,
    TestSetCodes,
    codes_frame,
    compare_reconstructions,
    encode_test_set,
    evaluate_test_set,
    every_k_frame,
    own_image_report,
    pick_batch,
    rate_distortion_table,
    reconstruct_batch,
    reconstruct_every_k,
)

__all__ = [
    "BYTES_PER_CODE_VALUE", "CODE_DTYPE", "CODEC_METHODS", "DEFAULT_TARGET_PSNR", "JPEG_QUALITIES", "LATENT_SIZES",
    "LETTER_STROKES",
    "METHODS", "NETWORK_FAMILIES", "PROBE_KINDS", "PROJECTIONS",
    "Codec", "CodecComparison", "CodecPoint", "CodecsByK", "LatentView", "MethodReconstruction", "ModelLoader",
    "NetworkCodec", "PcaCodec", "ProbeExample", "ReconstructionBatch", "SingleReconstruction", "SizeReport",
    "TestSetCodes", "TsneConfig",
    "all_codecs", "bytes_to_reach", "code_bytes", "codecs_for", "codes_frame", "compare_codecs",
    "compare_reconstructions", "comparison_summary", "decoder_bytes", "encode_test_set", "evaluate_test_set",
    "every_k_frame", "jpeg_decoded", "jpeg_point", "latent_view", "learned_points", "majority_winner",
    "own_image_report",
    "pick_batch", "png_bytes", "png_point", "printed_digits", "probe_comparisons", "probe_example", "probe_images",
    "project_3d",
    "rate_distortion_table", "reconstruct_batch", "reconstruct_every_k", "size_report", "size_table", "to_uint8",
    "typical_example", "value_ratio",
]
