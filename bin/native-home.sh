# Sourced: sets GRAALVM_HOME to a native-image toolchain, or leaves it empty and says why.
# A GraalVM or Mandrel the caller installed (GRAALVM_HOME already set) wins; else the toolchain assembled from Maven
# Central by ../shared/native-image beside the checkout (NATIVE_IMAGE_TOOLCHAIN names another place).
native_toolchain=${NATIVE_IMAGE_TOOLCHAIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/native-image}
if [ -n "${GRAALVM_HOME:-}" ] && [ -x "$GRAALVM_HOME/bin/native-image" ]; then
  native_why="GRAALVM_HOME=$GRAALVM_HOME"
elif [ -x "$native_toolchain/assemble.sh" ]; then
  GRAALVM_HOME=$(MVN="$PWD/mvnw" NATIVE_IMAGE_JDK="${NATIVE_IMAGE_JDK:-$JAVA_HOME}" "$native_toolchain/assemble.sh")
  native_why="assembled by $native_toolchain"
else
  GRAALVM_HOME=""
  native_why="no GRAALVM_HOME and no $native_toolchain"
fi
export GRAALVM_HOME
