"""The partner's customer list as a workbench (issue 25): the list's figures per
customer in a fixed number of queries (`selectors`), the bulk actions over a
selection through each app's services (`actions`), and the page (`views`).

It sits in `portal`, the top layer, because one row reads what several apps
own: the grant (partners), the MRR and seats (subscriptions), open offers
(offers) and the upsell switch (upsell)."""
