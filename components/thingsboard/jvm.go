package thingsboard

import (
	"fmt"
	"sort"
	"strings"
)

// confFile is the file a JVM service's start script sources from /config:
// "${CONF_FOLDER}/${configfile}" with CONF_FOLDER=/config and
// configfile=${pkg.name}.conf, pkg.name being set in each image's pom.xml
// (thingsboard/thingsboard v4.3.1):
//   - tb-node: msa/tb-node/docker/start-tb-node.sh, pkg.name "thingsboard"
//     (msa/tb-node/pom.xml);
//   - transports: msa/transport/<t>/docker/start-tb-<t>-transport.sh,
//     pkg.name "tb-<t>-transport" (msa/transport/<t>/pom.xml);
//   - tb-vc-executor: msa/vc-executor-docker/docker/start-tb-vc-executor.sh,
//     pkg.name "tb-vc-executor" (msa/vc-executor-docker/pom.xml).
//
// The transports' and tb-vc-executor's scripts source the file
// unconditionally, so without it they start with nothing but the heap in
// JAVA_OPTS. Empty for the Node.js services.
func (s Service) confFile() string {
	switch s {
	case Core, RuleEngine:
		return "thingsboard.conf"
	case JSExecutor, WebUI:
		return ""
	}
	return string(s) + ".conf" // tb-<t>-transport, tb-vc-executor
}

// jvmFlags are the ThingsBoard article's JVM flags (its tb-node-config and
// tb-mqtt-transport-config "conf"): GC logging and heap dumps into the
// logs emptyDir, G1, and exit on OutOfMemoryError so the kubelet restarts
// the container instead of it limping on. -XX:-UseBiasedLocking is left
// out: the flag is obsolete since JDK 18 and the images run JDK 25
// (msa/pom.xml v4.3.1: docker.base.image thingsboard/openjdk25:trixie-slim).
const jvmFlags = `export JAVA_OPTS="$JAVA_OPTS -Xlog:gc*,heap*,age*,safepoint=debug:file=/var/log/thingsboard/gc.log:time,uptime,level,tags:filecount=10,filesize=10M"
export JAVA_OPTS="$JAVA_OPTS -XX:+IgnoreUnrecognizedVMOptions -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=/var/log/thingsboard/heapdump.bin"
export JAVA_OPTS="$JAVA_OPTS -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem -XX:+UseCondCardMark"
export JAVA_OPTS="$JAVA_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=500 -XX:+UseStringDeduplication -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=10"
export JAVA_OPTS="$JAVA_OPTS -XX:+ExitOnOutOfMemoryError"
`

// jvmConf is the content of a service's confFile. Besides the flags it
// keeps what the packaged file sets (thingsboard v4.3.1
// application/src/main/conf/thingsboard.conf,
// transport/<t>/src/main/conf/tb-<t>-transport.conf,
// msa/vc-executor/src/main/conf/tb-vc-executor.conf): LOG_FILENAME and
// LOADER_PATH=<install folder>/conf (/usr/share/${pkg.name}, pom.xml
// pkg.installFolder), and for tb-node -Dplatform, install.data_dir and the
// extensions folder.
func jvmConf(file string) string {
	pkg := strings.TrimSuffix(file, ".conf")
	var b strings.Builder
	if pkg == "thingsboard" {
		b.WriteString(`export JAVA_OPTS="$JAVA_OPTS -Dplatform=deb -Dinstall.data_dir=/usr/share/thingsboard/data"` + "\n")
	}
	b.WriteString(jvmFlags)
	fmt.Fprintf(&b, "export LOG_FILENAME=%s.out\n", pkg)
	if pkg == "thingsboard" {
		b.WriteString("export LOADER_PATH=/usr/share/thingsboard/conf,/usr/share/thingsboard/extensions\n")
	} else {
		fmt.Fprintf(&b, "export LOADER_PATH=/usr/share/%s/conf\n", pkg)
	}
	return b.String()
}

// nodeConfigData is tb-node-config: logback.xml and the confFile of every
// enabled JVM service (thingsboard.conf always: the install Job reads it).
func nodeConfigData(cfg Config) map[string]string {
	data := map[string]string{"logback.xml": logbackXML, "thingsboard.conf": jvmConf("thingsboard.conf")}
	for _, svc := range Services {
		if f := svc.confFile(); f != "" && cfg.Services[svc].Enabled {
			data[f] = jvmConf(f)
		}
	}
	return data
}

// confFiles lists the keys of nodeConfigData, sorted (for tests and docs).
func confFiles(data map[string]string) []string {
	var files []string
	for k := range data {
		if strings.HasSuffix(k, ".conf") {
			files = append(files, k)
		}
	}
	sort.Strings(files)
	return files
}
