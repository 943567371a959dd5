-- Leader in the majority: split the cluster so that the leader keeps a
-- quorum. The majority side should go on serving reads and writes with
-- the same leader; the minority side must not serve anything stale.
local l = wait_for_leader(10)
log("leader before the split:", l)
for round = 1, 3 do
  partition("leader-majority")
  sleep(6)
  log("round", round, "leader during the split:", leader())
  heal()
  sleep(4)
end
