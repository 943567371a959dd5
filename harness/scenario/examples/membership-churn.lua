-- Membership churn under partition: add and remove members while the
-- network is split, so that configuration changes race with elections.
wait_for_leader(10)
local added = add_node()
log("added", added)
sleep(3)
partition("random-halves")
sleep(2)
local gone = remove_node("one")
log("removed", gone)
sleep(3)
heal()
wait_for_leader(10)
local learner = add_node("learner")
sleep(3)
if learner then
  promote(learner)
end
sleep(2)
partition("isolate", "leader")
replace("one")
sleep(3)
heal()
