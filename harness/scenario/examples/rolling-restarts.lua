-- Rolling restarts: kill and restart every node in turn, as an operator
-- upgrading the cluster would, with the leader last. The cluster keeps a
-- quorum throughout, so it should stay available.
wait_for_leader(10)
local order = {}
local current = leader()
for _, n in ipairs(nodes()) do
  if n ~= current then table.insert(order, n) end
end
table.insert(order, current)
for _, n in ipairs(order) do
  if not running() then break end
  log("restarting", n)
  kill(n)
  sleep(2)
  restart(n)
  wait_for_leader(10)
  sleep(3)
end
