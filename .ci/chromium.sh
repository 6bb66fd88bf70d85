# Sourced by .ci/run: Debian's chromium for the browser test of `xlqa serve` (tests/integration/test_serve.py)
# and Debian's sqlite3 shell for the readers' test (tests/store/test_readers.py), installed with apt when
# missing; exports XLQA_REQUIRE_BROWSER=1 and XLQA_REQUIRE_SQLITE3=1 so those tests fail instead of skipping.
if ! command -v chromium >/dev/null || ! command -v sqlite3 >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium sqlite3 >/dev/null) || return 1
fi
export XLQA_REQUIRE_BROWSER=1
export XLQA_REQUIRE_SQLITE3=1
# the browser test's screenshots are kept here (CI's artifacts)
export XLQA_TEST_ARTIFACTS="${XLQA_TEST_ARTIFACTS:-$(mktemp -d /tmp/xlqa-artifacts.XXXX)}"
echo "chromium: $(chromium --version 2>/dev/null); sqlite3 $(sqlite3 --version | cut -d' ' -f1); screenshots in $XLQA_TEST_ARTIFACTS"
