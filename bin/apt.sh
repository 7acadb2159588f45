# Sourced by bin/test and bin/bench: ensure_command <command> <debian package> installs the package with apt when
# the command is missing (as root, or through sudo); ensure_file <path> <debian package> when the file is.
ensure_command() {
  local command=$1 package=$2 sudo_cmd=""
  command -v "$command" >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "Installing $package (provides $command)..." >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$package" >/dev/null 2>&1 \
    || { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$package" >/dev/null; }
  command -v "$command" >/dev/null 2>&1 || { echo "could not install $package" >&2; return 1; }
}

ensure_file() {
  local file=$1 package=$2 sudo_cmd=""
  [ -e "$file" ] && return 0
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "Installing $package (provides $file)..." >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$package" >/dev/null 2>&1 \
    || { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$package" >/dev/null; }
  [ -e "$file" ] || { echo "could not install $package" >&2; return 1; }
}
