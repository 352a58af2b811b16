"""The conv decoder's last layer: same results as nn.ConvTranspose2d, on ATen's CPU kernel where the rule says
(aezoo.nets.image_deconv), with oneDNN's process-wide switch always left as it was."""
import pytest
import torch
from torch import nn
from torch.profiler import profile

from aezoo.nets.conv import ConvDecoder
from aezoo.nets.image_deconv import ImageConvTranspose2d

ATEN_KERNEL = "aten::slow_conv_transpose2d"  # the op ATen's CPU transposed convolution records
ATEN_BACKWARD = {"aten::select", "aten::zero_"}  # ATen's backward takes the batch image by image; oneDNN's does not


def pair(c_in: int, c_out: int) -> tuple[nn.ConvTranspose2d, ImageConvTranspose2d]:
    torch.manual_seed(0)
    plain = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)
    ours = ImageConvTranspose2d(c_in, c_out, 4, 2, 1)
    ours.load_state_dict(plain.state_dict(), strict=True)  # the same parameters under the same keys
    return plain, ours


def ops(fn) -> set[str]:
    with profile() as prof:
        fn()
    return {event.name for event in prof.events()}


@pytest.mark.parametrize("c_out", [1, 3, 8])
@pytest.mark.parametrize("bf16", [False, True])
def test_outputs_and_gradients_match_conv_transpose(c_out, bf16):
    plain, ours = pair(16, c_out)
    x = torch.randn(4, 16, 7, 7)
    results = []
    for layer in (plain, ours):
        xi = x.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = layer(xi)
        y.float().square().sum().backward()
        results.append((y.float(), xi.grad, layer.weight.grad, layer.bias.grad))
    for a, b in zip(*results):
        if bf16:  # bf16 rounds each kernel's sums differently: compare as a whole, relative to the size
            assert (a - b).norm() <= 1e-2 * b.norm()
        else:
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("c_out,bf16,aten", [(1, False, True), (1, True, True), (3, False, True),
                                             (3, True, False), (8, False, False), (8, True, False)])
def test_forward_runs_on_the_faster_kernel(c_out, bf16, aten):
    _, ours = pair(16, c_out)
    x = torch.randn(4, 16, 7, 7)

    def forward():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            ours(x)

    assert (ATEN_KERNEL in ops(forward)) is aten


def test_backward_stays_on_onednn_and_the_switch_is_restored():
    _, ours = pair(16, 1)
    x = torch.randn(4, 16, 7, 7, requires_grad=True)
    y = ours(x)
    assert torch.backends.mkldnn.enabled  # back on before the backward runs, which reads the switch then
    assert not ATEN_BACKWARD & ops(lambda: y.sum().backward())
    with pytest.raises(RuntimeError):
        ours(torch.randn(4, 5, 7, 7))  # wrong input channels: the forward fails inside the switched-off block
    assert torch.backends.mkldnn.enabled


def test_a_user_who_switched_onednn_off_keeps_it_off():
    plain, ours = pair(16, 1)
    x = torch.randn(4, 16, 7, 7)
    torch.backends.mkldnn.enabled = False
    try:
        torch.testing.assert_close(ours(x), plain(x))
        assert not torch.backends.mkldnn.enabled
    finally:
        torch.backends.mkldnn.enabled = True


def test_the_conv_decoder_draws_grayscale_images_on_aten_kernel():
    decoder = ConvDecoder((1, 28, 28), (8, 16), latent_dim=2)
    assert isinstance(decoder.body[-1], ImageConvTranspose2d)
    assert ATEN_KERNEL in ops(lambda: decoder(torch.randn(3, 2)))
    assert [k for k in decoder.state_dict() if k.startswith("body")] == [
        "body.2.weight", "body.2.bias", "body.4.weight", "body.4.bias"]  # the keys saved runs were written with
