"""SVTR neck (PP-OCRv3's ``encoder_type: svtr``): conv reduce -> global self-attention -> conv fuse.

Layer names follow upstream's EncoderWithSVTR so state_dict keys interchange
(``conv1``, ``conv2``, ``svtr_block.N.{norm1,mixer.qkv,mixer.proj,norm2,mlp.fc1,mlp.fc2}``,
``norm``, ``conv3``, ``conv4``, ``conv1x1``). Works on [B, C, H, W] and returns [B, dims, H, W];
SequenceEncoder reshapes afterwards. Every position attends to every other, so the sequence can
be re-ordered (e.g. a two-line plate read top line first), while the conv shortcut
(input -> conv4) gives a CNN-like path from the first step.
"""
import paddle
from paddle import nn
from paddle.nn.initializer import Constant, KaimingUniform, TruncatedNormal


class ConvBNLayer(nn.Layer):
    """Conv2D (no bias, Kaiming-uniform) -> BatchNorm2D -> activation."""

    def __init__(self, in_channels, out_channels, kernel_size=3, padding=0, act=nn.Swish):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, padding=padding,
                              weight_attr=paddle.ParamAttr(initializer=KaimingUniform()), bias_attr=False)
        self.norm = nn.BatchNorm2D(out_channels)
        self.act = act()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class Mlp(nn.Layer):
    """fc1 -> act -> dropout -> fc2 -> dropout."""

    def __init__(self, dim, hidden, drop=0.0, act=nn.Swish):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Attention(nn.Layer):
    """Multi-head self-attention over all positions ("Global" mixer)."""

    def __init__(self, dim, num_heads=8, qkv_bias=True, qk_scale=None, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"svtr neck: hidden_dims {dim} must be divisible by num_heads {num_heads}")
        self.num_heads, self.dim = num_heads, dim
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias_attr=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        head_dim = self.dim // self.num_heads
        qkv = self.qkv(x).reshape([0, -1, 3, self.num_heads, head_dim]).transpose([2, 0, 3, 1, 4])
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        weights = self.attn_drop(nn.functional.softmax(q.matmul(k, transpose_y=True), axis=-1))
        out = weights.matmul(v).transpose([0, 2, 1, 3]).reshape([0, -1, self.dim])
        return self.proj_drop(self.proj(out))


class Block(nn.Layer):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim, num_heads, mlp_ratio, qkv_bias, qk_scale, drop, attn_drop):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, epsilon=1e-5)
        self.mixer = Attention(dim, num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.norm2 = nn.LayerNorm(dim, epsilon=1e-5)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x):
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class EncoderWithSVTR(nn.Layer):
    """Upstream's defaults are the "XS" neck: dims 64, depth 2, hidden_dims 120, 8 heads."""

    def __init__(self, in_channels, dims=64, depth=2, hidden_dims=120, use_guide=False, num_heads=8,
                 qkv_bias=True, mlp_ratio=2.0, drop_rate=0.1, attn_drop_rate=0.1, drop_path=0.0,
                 kernel_size=(3, 3), qk_scale=None):
        super().__init__()
        if drop_path:
            raise ValueError("svtr neck: drop_path > 0 is not supported (upstream's default is 0.0)")
        pad = [kernel_size[0] // 2, kernel_size[1] // 2]
        reduced = in_channels // 8
        self.use_guide = use_guide
        self.conv1 = ConvBNLayer(in_channels, reduced, list(kernel_size), padding=pad)
        self.conv2 = ConvBNLayer(reduced, hidden_dims, 1)
        self.svtr_block = nn.LayerList([
            Block(hidden_dims, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(hidden_dims, epsilon=1e-6)
        self.conv3 = ConvBNLayer(hidden_dims, in_channels, 1)
        self.conv4 = ConvBNLayer(2 * in_channels, reduced, list(kernel_size), padding=pad)
        self.conv1x1 = ConvBNLayer(reduced, dims, 1)
        self.out_channels = dims
        self._init_linear_and_norm()

    def _init_linear_and_norm(self):
        normal, zeros, ones = TruncatedNormal(std=0.02), Constant(0.0), Constant(1.0)
        for layer in self.sublayers():
            if isinstance(layer, nn.Linear):
                normal(layer.weight)
                if layer.bias is not None:
                    zeros(layer.bias)
            elif isinstance(layer, nn.LayerNorm):
                ones(layer.weight)
                zeros(layer.bias)

    def forward(self, x):
        if self.use_guide:  # the neck's gradient does not reach the backbone
            x = x.detach()
        z = self.conv2(self.conv1(x))
        _, channels, height, width = z.shape
        z = z.flatten(2).transpose([0, 2, 1])
        for block in self.svtr_block:
            z = block(z)
        z = self.norm(z).reshape([0, height, width, channels]).transpose([0, 3, 1, 2])
        z = paddle.concat([x, self.conv3(z)], axis=1)
        return self.conv1x1(self.conv4(z))
