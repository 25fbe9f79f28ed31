"""Det eval with batch size > 1: a ragged batch runs per image size, so every image's maps equal batch size 1's."""
import numpy as np
import paddle

from ppexp.engine.evaluator import forward_batch
from ppexp.modeling import build_model

ARCH = {"model_type": "det", "algorithm": "DB",
        "Backbone": {"name": "MobileNetV3", "scale": 0.35, "model_name": "small", "disable_se": True},
        "Neck": {"name": "DBFPN", "out_channels": 32}, "Head": {"name": "DBHead", "k": 50}}


def test_ragged_batch_maps_equal_single_image_maps():
    paddle.seed(0)
    model = build_model(ARCH)
    model.eval()
    rng = np.random.default_rng(0)
    images = [rng.standard_normal((3, h, w)).astype("float32") for h, w in ((64, 96), (96, 64), (64, 96), (32, 128))]
    with paddle.no_grad():
        out, count = forward_batch(model, images)
        maps = out["maps"].numpy()
        assert count == 4 and maps.shape == (4, 1, 96, 128)
        for k, image in enumerate(images):
            alone = model(paddle.to_tensor(image[None]))["maps"].numpy()[0]
            h, w = image.shape[1:]
            np.testing.assert_allclose(maps[k, :, :h, :w], alone, rtol=1e-5, atol=1e-6)
            assert not maps[k, :, h:, :].any() and not maps[k, :, :, w:].any()  # padded outputs are zero
        # what padding the images (the previous collate) gave: the maps near an image's edge move
        padded = np.zeros((1, 3, 96, 128), "float32")
        padded[0, :, :64, :96] = images[0]
        near_edge = model(paddle.to_tensor(padded))["maps"].numpy()[0, :, :64, :96]
        assert np.abs(near_edge - maps[0, :, :64, :96]).max() > 1e-3


def test_stacked_batch_is_passed_through():
    paddle.seed(0)
    model = build_model(ARCH)
    model.eval()
    batch = paddle.randn([2, 3, 64, 64])
    with paddle.no_grad():
        out, count = forward_batch(model, batch)
        np.testing.assert_array_equal(out["maps"].numpy(), model(batch)["maps"].numpy())
    assert count == 2
