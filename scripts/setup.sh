#!/usr/bin/env bash
# Set up a fresh machine for ppexp: system libraries, a virtual environment, the package.
# Idempotent: a second run only checks. Usage: bash scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${PPEXP_VENV:-.venv}

need_apt=()
ldconfig -p 2>/dev/null | grep -q libgomp.so.1 || ls /usr/lib/*/libgomp.so.1 /usr/lib64/libgomp.so.1 >/dev/null 2>&1 || need_apt+=(libgomp1)
# Korean fonts for the synthetic plates (ppexp/experiments/synth/fonts.py): fonts-nanum is required, the
# others widen the typeface variety the plate model learns from (all free licences: OFL, GPL-2, BSD-like).
fontpkgs=(fonts-nanum:/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf
          fonts-nanum-extra:/usr/share/fonts/truetype/nanum/NanumSquareEB.ttf
          fonts-unfonts-core:/usr/share/fonts/truetype/unfonts-core/UnDotumBold.ttf
          fonts-baekmuk:/usr/share/fonts/truetype/baekmuk/hline.ttf
          fonts-noto-cjk:/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc
          fonts-lexi-gulim:/usr/share/fonts/truetype/lexi/LexiGulim.ttf)
for pf in "${fontpkgs[@]}"; do [ -f "${pf#*:}" ] || need_apt+=("${pf%%:*}"); done
# a C++ compiler builds ppexp's CPU depthwise conv once per machine (ppexp/modeling/depthwise.py; ~2x faster
# MobileNetV3 training); without one ppexp says so and uses paddle's kernel
command -v g++ >/dev/null || need_apt+=(g++)
# the test suite starts a throw-away PostgreSQL server for `ppexp tune`'s multi-worker test
if [ "${1:-}" = "--test" ] && ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing ${need_apt[*]} (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >/dev/null \
      || echo "[setup] warning: apt-get install ${need_apt[*]} failed; install them yourself"
  else
    echo "[setup] warning: missing ${need_apt[*]}; run: sudo apt-get install ${need_apt[*]}"
  fi
fi

[ -x "$VENV/bin/python" ] || { echo "[setup] creating $VENV"; $PY -m venv "$VENV"; }
extras=""; [ "${1:-}" = "--test" ] && extras="[test,tune]"
stamp="$VENV/.ppexp-installed$extras"
digest=$(cat setup.py | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "[setup] installing ppexp$extras and its dependencies into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -m pip install -q -e ".$extras" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -c "import paddle, ppexp" && echo "$digest" > "$stamp"
fi
"$VENV/bin/python" -c "import paddle, ppexp; print('[setup] ok: ppexp', ppexp.__version__, '/ paddle', paddle.__version__)" 2>/dev/null
"$VENV/bin/python" -W ignore -m ppexp.modeling.depthwise 2>&1 | grep -v "^Compiling user custom op" || true
