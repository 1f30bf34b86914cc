from django.urls import path

from tenderhall.venues import views

app_name = "venues"
urlpatterns = [
    path("", views.calendar_view, name="calendar"),
    path("bookings/", views.bookings_view, name="bookings"),
    path("bookings/<int:pk>/", views.booking_view, name="booking"),
    path("rooms/", views.rooms_view, name="rooms"),
    path("rooms/<int:pk>/", views.room_view, name="room"),
]
