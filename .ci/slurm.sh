# Sourced by .ci/run: a throwaway one-node Slurm (Debian's slurm-wlm, munge, slurmdbd on MariaDB) for the
# real-Slurm tests; exports SLURM_CONF, XLQA_TEST_SLURM=1 and XLQA_TEST_SLURM_PARTITION. No systemd here:
# every daemon is started by hand, runs as root, keeps its files in one temporary folder, and is stopped
# (and the folder removed) when .ci/run exits.
if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
     slurmctld slurmd slurm-client munge slurmdbd mariadb-server >/dev/null) || return 1
fi
SLDIR=$(mktemp -d /tmp/xlqa-slurm.XXXX)
chmod 755 "$SLDIR"
source "$(dirname "${BASH_SOURCE[0]}")/cleanup.sh"
ci_on_exit "timeout 10 scancel --quiet --user=root >/dev/null 2>&1; for d in slurmd slurmctld slurmdbd mariadbd munged; do \
  [ -f $SLDIR/\$d.pid ] && kill \$(cat $SLDIR/\$d.pid) 2>/dev/null; done; sleep 1; rm -rf $SLDIR"
# a fresh cluster name and accounting database every run: a reused one with a reset state folder restarts
# job ids, and sacct then answers with an old job's state for a new job
SL_TAG="xlqa$(date +%s)$$"
SL_HOST=$(hostname -s)
SL_PORT=${XLQA_SLURM_PORT:-16817}  # slurmctld; slurmd, slurmdbd and MariaDB on the next ports
SL_CPUS=8  # more than this machine has (config_overrides): the tests' small jobs run side by side

# munge at its default socket: Slurm's client commands do not all honour AuthInfo=socket=. A munged
# already serving there is used as it is.
if ! munge -n >/dev/null 2>&1; then
  mkdir -p /run/munge
  dd if=/dev/urandom of="$SLDIR/munge.key" bs=1024 count=1 status=none && chmod 400 "$SLDIR/munge.key"
  munged --force --key-file="$SLDIR/munge.key" --pid-file="$SLDIR/munged.pid" \
    --log-file="$SLDIR/munged.log" --seed-file="$SLDIR/munged.seed" || return 1
fi

mariadb-install-db --no-defaults --user=root --datadir="$SLDIR/mysql" >/dev/null 2>&1 || return 1
mariadbd --no-defaults --user=root --datadir="$SLDIR/mysql" --socket="$SLDIR/mysql.sock" \
  --port=$((SL_PORT + 3)) --bind-address=127.0.0.1 --pid-file="$SLDIR/mariadbd.pid" \
  --log-error="$SLDIR/mariadbd.log" --skip-log-bin >/dev/null 2>&1 &
for _ in $(seq 100); do [ -S "$SLDIR/mysql.sock" ] && break; sleep 0.1; done
mariadb --no-defaults -S "$SLDIR/mysql.sock" -u root -e \
  "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'xlqa'; GRANT ALL ON $SL_TAG.* TO 'slurm'@'127.0.0.1';" || return 1

cat > "$SLDIR/slurm.conf" <<EOF
ClusterName=$SL_TAG
SlurmctldHost=$SL_HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SlurmctldPort=$SL_PORT
SlurmdPort=$((SL_PORT + 1))
StateSaveLocation=$SLDIR/ctld
SlurmdSpoolDir=$SLDIR/d
SlurmctldPidFile=$SLDIR/slurmctld.pid
SlurmdPidFile=$SLDIR/slurmd.pid
SlurmctldLogFile=$SLDIR/slurmctld.log
SlurmdLogFile=$SLDIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$SL_HOST
AccountingStoragePort=$((SL_PORT + 2))
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
KillWait=10
MinJobAge=600
EnforcePartLimits=ALL
NodeName=$SL_HOST CPUs=$SL_CPUS RealMemory=4000 State=UNKNOWN
PartitionName=xlqa Nodes=$SL_HOST Default=YES MaxTime=INFINITE State=UP
EOF
cat > "$SLDIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=$SL_HOST
DbdPort=$((SL_PORT + 2))
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((SL_PORT + 3))
StorageUser=slurm
StoragePass=xlqa
StorageLoc=$SL_TAG
LogFile=$SLDIR/slurmdbd.log
PidFile=$SLDIR/slurmdbd.pid
EOF
chmod 600 "$SLDIR/slurmdbd.conf"
mkdir -p "$SLDIR/ctld" "$SLDIR/d"
export SLURM_CONF="$SLDIR/slurm.conf"

slurmdbd || return 1
for _ in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.1; done
sacctmgr -i add cluster "$SL_TAG" >/dev/null || return 1
slurmctld || return 1
slurmd || return 1
for _ in $(seq 300); do [ "$(sinfo -h -N -o %t 2>/dev/null)" = "idle" ] && break; sleep 0.1; done
[ "$(sinfo -h -N -o %t)" = "idle" ] || { echo "the Slurm node is not idle:"; sinfo -N; tail "$SLDIR"/slurm*.log; return 1; }
export XLQA_TEST_SLURM=1 XLQA_TEST_SLURM_PARTITION=xlqa
echo "Slurm ready: cluster $SL_TAG, partition xlqa on $SL_HOST ($SLURM_CONF)"
