# Sourced by the scripts that start Crescent's classes from a classpath rather than with `java -jar` (bin/crescent,
# bin/bench): the flags the service's jar manifest carries (Enable-Native-Access, Add-Opens; see
# application.properties), and permission for the Unsafe memory access Netty makes, so they run as the service
# does and print no JVM warnings.
crescent_jvm_flags=(
  --enable-native-access=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED
  --sun-misc-unsafe-memory-access=allow
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager
)
