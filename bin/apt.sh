# Sourced by bin/test and bin/bench: ensure_command <command> <debian package> installs the package with apt when
# the command is missing (as root, or through sudo); ensure_file <path> <debian package> when the file is.
# apt_install <packages...> installs packages (trying without `apt-get update` first: the index is usually fresh).
apt_install() {
  local sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "Installing $* with apt..." >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null; }
}

ensure_command() {
  local command=$1 package=$2
  command -v "$command" >/dev/null 2>&1 && return 0
  apt_install "$package"
  command -v "$command" >/dev/null 2>&1 || { echo "could not install $package" >&2; return 1; }
}

ensure_file() {
  local file=$1 package=$2
  [ -e "$file" ] && return 0
  apt_install "$package"
  [ -e "$file" ] || { echo "could not install $package" >&2; return 1; }
}
