-- Leader in the minority: the leader and a few followers are cut off from
-- a majority. The majority elects a new leader and commits; the old
-- leader must stop serving (no stale reads, no lost writes) and step down
-- when the partition heals.
local old = wait_for_leader(10)
log("leader before the split:", old)
partition("leader-minority")
-- Wait for the majority side to elect a new leader and commit writes.
local deadline = now() + 10
local new = leader()
while (new == nil or new == old) and now() < deadline do
  sleep(0.2)
  new = leader()
end
log("leader of the majority:", new)
sleep(5)
heal()
sleep(3)
-- Again, now also crashing the old leader's side when healing.
old = wait_for_leader(10)
partition("leader-minority")
sleep(5)
kill(old)
heal()
sleep(3)
restart()
